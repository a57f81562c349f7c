import Foundation

/// The element-wise loops of `StyleLMInference` on 4-lane SIMD vectors (the width the
/// baseline x86-64 target compiles to registers; wider Swift vectors spill lane by lane):
/// they run on one thread between the multi-threaded sgemm calls, so their speed sets how
/// long the BLAS threads sit idle. Tails shorter than a vector run scalar.
enum InferenceKernels {
    typealias V = SIMD4<Float>
    static let width = 4

    /// Four floats at `p` (any alignment). Built from scalar loads, which LLVM merges into
    /// one `movups`: `loadUnaligned(as:)` is a generic call that big callers do not inline.
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        V(p[0], p[1], p[2], p[3])
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// eˣ lane by lane as 2ⁿ·2ᶠ: t = x·log₂e clamped to [−126, 127], n = round(t) (the
    /// 1.5·2²³ trick leaves n in the low mantissa bits), 2ᶠ for f ∈ [−½, ½] by its
    /// degree-6 Taylor polynomial (relative error ≤ 1.2e-7), 2ⁿ built from the exponent
    /// bits. Rounding t costs |t|·6e-8 relative, so the error stays below ~1e-6 for
    /// |x| ≤ 15 and ~8e-6 at the clamps, where the values (≤ 1e-37 or ≥ 1e38) only saturate
    /// a sigmoid or vanish in a sum. Inputs below −87 give ~1e-38 rather than 0.
    /// (Five SSE operations cheaper than Cephes `expf`'s two-part reduction by ln 2.)
    @inline(__always) static func exp(_ x: V) -> V {
        exp2(lanewiseMin(lanewiseMax(x * 1.442_695_04, V(repeating: -126)), V(repeating: 127)))
    }

    /// 2ᵗ for t in [−126, 127] (see `exp`).
    @inline(__always) static func exp2(_ t: V) -> V {
        let magic = V(repeating: 12_582_912)   // 1.5·2²³
        let shifted = t + magic
        let f = t - (shifted - magic)
        var q = V(repeating: 1.540_353_0e-4)
        q = q * f + 1.333_355_8e-3
        q = q * f + 9.618_129_1e-3
        q = q * f + 5.550_410_9e-2
        q = q * f + 0.240_226_51
        q = q * f + 0.693_147_18
        q = q * f + 1
        let bits = unsafeBitCast(shifted, to: SIMD4<UInt32>.self) &- 0x4B40_0000   // n as a two's-complement integer
        return q * unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
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

    /// Σ exp(p[i] − shift) for values ≤ shift (a log-sum-exp's sum after its maximum),
    /// read-only: `exp` without the upper clamp.
    @inline(__always) static func sumExpBelow(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
        var i = 0, total = V()
        let low = V(repeating: -126.0)
        while i + width <= n {
            total += exp2(lanewiseMax((load(p + i) - shift) * 1.442_695_04, low))
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
