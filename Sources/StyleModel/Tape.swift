import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Records the ops of one forward pass so that `backward` can run them in reverse
/// (reverse-mode automatic differentiation).
///
/// Each op computes its result at once and, when an input is trainable, records a
/// closure that turns the result's gradient into its inputs' gradients. Ops are fused
/// where it saves memory traffic (softmax with cross-entropy, LoRA with its base
/// projection, attention per (sequence, head)); every matrix product is one
/// `cblas_sgemm` call. A tape is for one step: make a new one for the next.
public final class Tape {
    var backwardSteps: [() -> Void] = []
    /// Floating-point operations of the matrix products so far (2·M·N·K per sgemm),
    /// forward and backward: what the benchmark divides by time.
    public private(set) var matmulFlops: Double = 0
    /// Seconds per op kind (forward and backward separately), when `profile` is set.
    public var profile = false
    public private(set) var secondsByOp: [String: Double] = [:]

    public init() {}

    /// Seeds d(loss)/d(loss) = 1 and runs the recorded ops in reverse, adding (+=) into
    /// `.grad` of every trainable tensor. `loss` must hold one value. The recorded
    /// closures are released afterwards, so call it once per tape.
    public func backward(_ loss: Tensor) {
        precondition(loss.count == 1, "backward needs a scalar loss, got shape \(loss.shape)")
        guard loss.isTracked else { backwardSteps = []; return }
        loss.withGrad { $0[0] += 1 }
        while let step = backwardSteps.popLast() { step() }
    }

    /// Records `step` for `backward` when `output` depends on a trainable input;
    /// marks `output` so later ops know it is tracked.
    func record(_ output: Tensor, inputs: [Tensor], _ step: @escaping () -> Void) {
        guard inputs.contains(where: \.isTracked) else { return }
        output.fromTrackedOp = true
        backwardSteps.append(step)
    }

    /// Times `body` under `name` when profiling.
    @inline(__always) func timed<R>(_ name: String, _ body: () -> R) -> R {
        guard profile else { return body() }
        let start = DispatchTimeShim.now()
        let r = body()
        secondsByOp[name, default: 0] += DispatchTimeShim.now() - start
        return r
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major; counts 2·m·n·k flops.
    func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
              _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
              beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        matmulFlops += 2 * Double(m) * Double(n) * Double(k)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// Monotonic seconds, without Foundation.
enum DispatchTimeShim {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
