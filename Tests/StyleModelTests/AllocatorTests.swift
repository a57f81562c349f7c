import Testing
@testable import StyleModel

@Test func theAllocatorTakesTheModelSettings() {
    #if canImport(Glibc)
    // glibc accepts each setting (mallopt returns 1); large blocks then come from the heap.
    #expect(Allocator.tuneForModelWork())
    let a = [Float](repeating: 1, count: 8 << 20)  // 32 MiB: within the raised threshold
    #expect(a.reduce(0, +) == Float(8 << 20))
    #endif
}
