import LookbookCore
@testable import StyleModel

/// Finite-difference checking of `Tape` gradients.
enum GradientCheck {
    /// Random normal values, deterministic for a name.
    static func random(_ shape: [Int], _ name: String, std: Float = 1, requiresGrad: Bool = true) -> Tensor {
        var rng = SplitMix64.stream(7, name)
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, value: (0..<count).map { _ in Float(rng.gaussian()) * std }, requiresGrad: requiresGrad)
    }

    static func randomValues(_ count: Int, _ name: String) -> [Float] {
        var rng = SplitMix64.stream(11, name)
        return (0..<count).map { _ in Float(rng.gaussian()) }
    }

    /// A tiny model with non-trivial weights (std 0.3, norms left at 1) and, when `lora` is
    /// given, adapters whose B is non-zero too, so every adapter entry carries gradient.
    static func randomizedModel(_ config: StyleLMConfig = .tiny(), seed: UInt64 = 3, lora: LoRAConfig? = nil) throws -> StyleLM {
        let model = StyleLM(config: config, seed: seed)
        for (name, t) in model.weights where !name.hasSuffix("norm.weight") {
            t.value = random(t.shape, name, std: 0.3).value
        }
        if let lora {
            var adapters = lora.initial(config, seed: 5)
            for name in adapters.keys where name.contains("lora_B") {
                adapters[name] = randomValues(adapters[name]!.count, name).map { $0 * 0.3 }
            }
            try model.attachLoRA(lora, adapters: adapters)
        }
        return model
    }

    /// A scalar from any op result: Σ_i r_i·out_i with fixed random r, so every output
    /// element's gradient matters.
    static func project(_ out: Tensor, on tape: Tape) -> Tensor {
        tape.weightedRowSums(out, weights: randomValues(out.count, "projection"), rows: 1)
    }

    /// The worst relative error ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) over
    /// `inputs`, numeric by central differences of step `h` (Float64 difference), over
    /// at most `sample` evenly spread entries of each input.
    static func worstError(_ inputs: [Tensor], h: Float = 1e-2, sample: Int = 64, _ loss: (Tape) -> Tensor) -> Double {
        for t in inputs { t.zeroGrad() }
        let tape = Tape()
        tape.backward(loss(tape))
        let analytic = inputs.map(\.grad)
        var worst = 0.0
        for (t, grad) in zip(inputs, analytic) {
            precondition(grad.count == t.count, "no gradient for an input")
            let stride = max(1, t.count / sample)
            var diff = 0.0, normA = 0.0, normN = 0.0
            for i in Swift.stride(from: 0, to: t.count, by: stride) {
                let saved = t.value[i]
                t.value[i] = saved + h
                let plus = Double(loss(Tape()).value[0])
                t.value[i] = saved - h
                let minus = Double(loss(Tape()).value[0])
                t.value[i] = saved
                let numeric = (plus - minus) / (2 * Double(h))
                let a = Double(grad[i])
                diff += (a - numeric) * (a - numeric)
                normA += a * a
                normN += numeric * numeric
            }
            let scale = max(normA, normN).squareRoot()
            worst = max(worst, scale < 1e-9 ? diff.squareRoot() : diff.squareRoot() / scale)
        }
        return worst
    }
}
