import DoseFuzzing

/// libFuzzer's entry: one input through `FuzzChecks.request`; a property that fails is a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let problems = FuzzChecks.request(Array(UnsafeRawBufferPointer(start: start, count: count)))
    if !problems.isEmpty { fatalError(problems.joined(separator: "\n")) }
    return 0
}
