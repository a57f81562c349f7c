/// SplitMix64: a small, fast, seedable generator whose output is fixed by its seed on
/// every platform and Swift version.
///
/// The generator never uses the standard library's `random(in:using:)` helpers: their
/// algorithms may change between Swift releases, and the committed sample catalog must
/// regenerate bit for bit. Every draw goes through the methods below.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for an independent stream, e.g. one per product, so that changing
    /// how many numbers one product draws does not shift every later product.
    public init(seed: UInt64, stream: UInt64) {
        var s = SeededRandom(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        state = s.next() ^ stream
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<n` (n > 0), by multiply-shift (bias below 2⁻³² for small n).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        return Int(((next() >> 32) &* UInt64(n)) >> 32)
    }

    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.count)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    public mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    public mutating func pick<T>(_ items: [T]) -> T { items[int(below: items.count)] }

    /// An index drawn with the given non-negative weights.
    public mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var x = unit() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }
}
