import Foundation

/// Finds an object that names a member twice in JSON text that is otherwise valid. Foundation's parsers keep
/// one of the two silently, so two readers of one record could disagree about what it says; the line refuses
/// such records instead (protocol/SPEC.md §4).
enum JSONMembers {
    /// The first member name that appears twice in one object, or nil.
    static func duplicate(in json: String) -> String? {
        let bytes = Array(json.utf8)
        // Per open container: the member names seen so far (nil for an array).
        var stack: [Set<String>?] = []
        var index = 0
        var expectingName = false
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                stack.append([])
                expectingName = true
            case UInt8(ascii: "["):
                stack.append(nil)
                expectingName = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                expectingName = false
            case UInt8(ascii: ","):
                expectingName = stack.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingName, var names = stack.last ?? nil {
                    let end = min(index, bytes.count - 1)
                    let inner = bytes[(start + 1)..<max(start + 1, end)]
                    // Plain names are their bytes; only a name with escapes is decoded the way the parsers do,
                    // so "a" and "\u0061" are one name (a record line is parsed on every record: keep it cheap).
                    let name =
                        inner.contains(UInt8(ascii: "\\"))
                        ? (try? JSONSerialization.jsonObject(
                            with: Data(bytes[start...end]), options: .fragmentsAllowed)) as? String
                            ?? String(decoding: inner, as: UTF8.self)
                        : String(decoding: inner, as: UTF8.self)
                    if names.contains(name) { return name }
                    names.insert(name)
                    stack[stack.count - 1] = names
                    expectingName = false
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
