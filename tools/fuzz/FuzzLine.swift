// libFuzzer target for the frame decoder and the record parser (protocol/SPEC.md, "Framing", "Records").
// Built by tools/fuzz/run together with those two source files; never part of the package build.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks how the input is cut into reads, as TCP may deliver it.
    let step = max(1, Int(bytes.first ?? 1))
    var frames = FrameDecoder()
    var records = RecordParser()
    var offset = 0
    outer: while offset < bytes.count {
        let end = min(bytes.count, offset + step)
        frames.append(bytes[offset..<end])
        records.append(bytes[offset..<end])
        offset = end
        do {
            while let frame = try frames.next() {
                precondition(frame.count >= 1 && frame.count <= FrameDecoder.maximumFrame)
            }
        } catch {
            break outer
        }
        do {
            while let record = try records.next() {
                precondition(record.body.count <= Record.maximumBody)
                _ = try record.encoded()
            }
        } catch {
            break outer
        }
        // Nothing may buffer more than one maximal frame or line plus a declared body.
        precondition(frames.pendingCount <= 4 + FrameDecoder.maximumFrame + step)
    }
    return 0
}
