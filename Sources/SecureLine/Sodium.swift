import CSodium

/// libsodium initialisation. The full Noise line protocol arrives with issue 3; this target exists now so
/// the package graph (DESIGN.md, "Layers") is in place and `CSodium` links on every machine.
public enum Sodium {
    /// Initialises libsodium once; safe to call from any thread (libsodium makes repeated calls cheap).
    /// Returns false when libsodium cannot be initialised.
    @discardableResult
    public static func initialize() -> Bool {
        sodium_init() >= 0
    }

    /// The linked libsodium's version string, e.g. `1.0.18`.
    public static var version: String {
        String(cString: sodium_version_string())
    }
}
