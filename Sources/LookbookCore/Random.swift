/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast, seedable generator.
///
/// Lookbook owns its randomness so that a seed means the same questions,
/// negatives and bootstrap resamples on every machine and Swift version: the standard
/// library's `shuffle(using:)` and `random(in:using:)` algorithms are not promised to
/// stay the same, so this file also provides its own shuffle and bounded draw.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a good 64-bit bit mixer on its own.
    @inlinable public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-shift with rejection). `bound` > 0.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller).
    public mutating func gaussian() -> Double {
        var u = unit()
        while u <= .leastNormalMagnitude { u = unit() }
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }

    /// Fisher–Yates, this file's own so the order is stable across Swift versions.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, below(i + 1))
        }
    }

    /// A generator for one named sub-stream of a seed: the streams of one seed do not
    /// overlap in practice and adding a stream does not shift the others.
    public static func stream(_ seed: UInt64, _ name: String) -> SplitMix64 {
        SplitMix64(seed: mix(seed ^ StableHash.fnv1a(name)))
    }
}

/// FNV-1a over UTF-8: a hash that, unlike `Hasher`, is the same in every process.
public enum StableHash {
    public static func fnv1a(_ s: String, _ start: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var h = start
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
