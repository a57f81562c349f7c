import Foundation

/// The element-wise loops of `StyleLMInference` on 4-lane SIMD vectors (the width the
/// baseline x86-64 target compiles to registers; wider Swift vectors spill lane by lane):
/// they run on one thread between the multi-threaded sgemm calls, so their speed sets how
/// long the BLAS threads sit idle. Tails shorter than a vector run scalar.
enum InferenceKernels {
    typealias V = SIMD4<Float>
    static let width = 4

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// eˣ lane by lane, relative error ≤ 2e-7 on [−87, 88] (Cephes `expf`: range
    /// reduction by ln 2 in two parts, degree-5 polynomial, 2ⁿ built from the exponent
    /// bits); inputs below −87 give ~1e-38 rather than 0, which is harmless in a sum.
    @inline(__always) static func exp(_ x: V) -> V {
        let x = lanewiseMin(lanewiseMax(x, V(repeating: -87.0)), V(repeating: 88.0))
        // Round x·log2(e) to the nearest integer with the 1.5·2²³ trick: the integer sits in the low mantissa bits.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        let bits = unsafeBitCast(shifted, to: SIMD4<UInt32>.self) &- 0x4B40_0000   // n as a two's-complement integer
        let pow2 = unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
        return y * pow2
    }

    /// Lane-wise max and min that compile to one `maxps` / `minps` (the standard library's
    /// `pointwiseMax` / `pointwiseMin` become a NaN-aware scalar loop with a branch per lane
    /// and are not inlined: they cost more than the rest of `exp`). NaN handling is not needed here.
    @inline(__always) static func lanewiseMax(_ a: V, _ b: V) -> V { a.replacing(with: b, where: a .< b) }
    @inline(__always) static func lanewiseMin(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .< a) }

    @inline(__always) static func scalarExp(_ x: Float) -> Float { Foundation.exp(x) }

    /// The largest of `n` values (−∞ for none).
    @inline(__always) static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var i = 0, m = -Float.infinity
        if n >= width {
            var v = load(p)
            i = width
            while i + width <= n { v = lanewiseMax(v, load(p + i)); i += width }
            m = Swift.max(Swift.max(v[0], v[1]), Swift.max(v[2], v[3]))
        }
        while i < n { m = Swift.max(m, p[i]); i += 1 }
        return m
    }

    /// p[i] = exp(p[i] − shift) in place; returns their sum.
    @inline(__always) static func expInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, minus shift: Float) -> Float {
        var i = 0, total = V()
        while i + width <= n {
            let e = exp(load(p + i) - shift)
            store(e, p + i)
            total += e
            i += width
        }
        var sum = (total[0] + total[1]) + (total[2] + total[3])
        while i < n { let e = scalarExp(p[i] - shift); p[i] = e; sum += e; i += 1 }
        return sum
    }

    /// Σ exp(p[i] − shift), read-only.
    @inline(__always) static func sumExp(_ p: UnsafePointer<Float>, _ n: Int, minus shift: Float) -> Float {
        var i = 0, total = V()
        while i + width <= n { total += exp(load(p + i) - shift); i += width }
        var sum = (total[0] + total[1]) + (total[2] + total[3])
        while i < n { sum += scalarExp(p[i] - shift); i += 1 }
        return sum
    }

    /// Σ exp(p[i] − shift) for values ≤ shift (a log-sum-exp's sum after its maximum),
    /// read-only. Cheaper than `sumExp`: eˣ = 2ⁿ·2ᶠ with n = round(x·log₂e) and 2ᶠ,
    /// f ∈ [−½, ½], by its degree-5 Taylor polynomial (relative error ≤ 2.4e-6, so the
    /// log of the sum is off by at most that); arguments below −87 count as ~1e-38.
    @inline(__always) static func sumExpBelow(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
        var i = 0, total = V()
        let low = V(repeating: -125.0), magic = V(repeating: 12_582_912)
        while i + width <= n {
            let t = lanewiseMax((load(p + i) - shift) * 1.442_695_04, low)   // x·log₂e, ≥ −125
            let shifted = t + magic
            let f = t - (shifted - magic)
            var q = V(repeating: 1.333_355_8e-3)
            q = q * f + 9.618_129e-3
            q = q * f + 5.550_411e-2
            q = q * f + 0.240_226_5
            q = q * f + 0.693_147_2
            q = q * f + 1
            let bits = unsafeBitCast(shifted, to: SIMD4<UInt32>.self) &- 0x4B40_0000
            total += q * unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
            i += width
        }
        var sum = (total[0] + total[1]) + (total[2] + total[3])
        while i < n { sum += scalarExp(p[i] - shift); i += 1 }
        return sum
    }

    /// p[i] *= s.
    @inline(__always) static func scale(_ p: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        var i = 0
        while i + width <= n { store(load(p + i) * s, p + i); i += width }
        while i < n { p[i] *= s; i += 1 }
    }

    /// gate[i] = silu(gate[i]) · up[i].
    @inline(__always) static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + width <= n {
            let g = load(gate + i)
            store(g / (1 + exp(-g)) * load(up + i), gate + i)
            i += width
        }
        while i < n { let g = gate[i]; gate[i] = g / (1 + scalarExp(-g)) * up[i]; i += 1 }
    }

    /// out = x / sqrt(mean(x²) + eps) · w over one row of n.
    @inline(__always) static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                          _ n: Int, eps: Float) {
        var i = 0, squares = V()
        while i + width <= n { let v = load(x + i); squares += v * v; i += width }
        var ss = (squares[0] + squares[1]) + (squares[2] + squares[3])
        while i < n { ss += x[i] * x[i]; i += 1 }
        let inv = 1 / (ss / Float(n) + eps).squareRoot()
        i = 0
        while i + width <= n { store(load(x + i) * inv * load(w + i), out + i); i += width }
        while i < n { out[i] = x[i] * inv * w[i]; i += 1 }
    }

    /// Rotary embedding of one head: (v[i], v[i + half]) turned by the angle whose cos and
    /// sin are c[i] and s[i] (Hugging Face `rotate_half` pairing).
    @inline(__always) static func rotate(_ v: UnsafeMutablePointer<Float>, _ half: Int, cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>) {
        var i = 0
        while i + width <= half {
            let a = load(v + i), b = load(v + half + i), cv = load(c + i), sv = load(s + i)
            store(a * cv - b * sv, v + i)
            store(b * cv + a * sv, v + half + i)
            i += width
        }
        while i < half {
            let a = v[i], b = v[i + half]
            v[i] = a * c[i] - b * s[i]
            v[i + half] = b * c[i] + a * s[i]
            i += 1
        }
    }
}
