import LookbookCore

/// The shape of a StyleLM: a decoder-only transformer of the LLaMA family (RMSNorm,
/// rotary position embeddings, SwiGLU, tied input and output embeddings).
///
/// Encodes as a Hugging Face `config.json` (`model_type` "llama"), so Python tools can
/// build the same network around the checkpoint's tensors.
public struct StyleLMConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the SwiGLU MLP (`intermediate_size`).
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    /// The longest sequence the model is trained and run on.
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float

    public var headDim: Int { hiddenSize / numAttentionHeads }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, maxPositionEmbeddings: Int, rmsNormEps: Float = 1e-5, ropeTheta: Float = 10_000) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
    }

    /// The default: trains on 2 CPU cores within a nightly budget.
    public static func standard(vocabSize: Int) -> StyleLMConfig {
        StyleLMConfig(vocabSize: vocabSize, hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4,
                      numAttentionHeads: 4, maxPositionEmbeddings: 192)
    }

    /// A tiny model for tests: finite differences and the numpy reference run on it.
    public static func tiny(vocabSize: Int = 37) -> StyleLMConfig {
        StyleLMConfig(vocabSize: vocabSize, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
                      numAttentionHeads: 2, maxPositionEmbeddings: 16)
    }

    /// Why this configuration cannot make a model, or nil.
    public func problem() -> String? {
        if vocabSize < 2 { return "vocab_size must be at least 2, got \(vocabSize)" }
        if hiddenSize < 2 || numAttentionHeads < 1 || hiddenSize % numAttentionHeads != 0 {
            return "hidden_size (\(hiddenSize)) must be a positive multiple of num_attention_heads (\(numAttentionHeads))"
        }
        if headDim % 2 != 0 { return "the head size hidden_size / num_attention_heads must be even for rotary embeddings, got \(headDim)" }
        if intermediateSize < 1 || numHiddenLayers < 1 { return "intermediate_size and num_hidden_layers must be positive" }
        if maxPositionEmbeddings < 2 { return "max_position_embeddings must be at least 2, got \(maxPositionEmbeddings)" }
        if !(rmsNormEps > 0) || !(ropeTheta > 1) { return "rms_norm_eps must be > 0 and rope_theta > 1" }
        return nil
    }

    /// Every weight, the embedding table included.
    public var parameterCount: Int {
        StyleLMWeights.shapes(self).values.reduce(0) { $0 + $1.reduce(1, *) }
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case modelType = "model_type", architectures, tieWordEmbeddings = "tie_word_embeddings"
        case hiddenAct = "hidden_act", torchDtype = "torch_dtype"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        maxPositionEmbeddings = try c.decode(Int.self, forKey: .maxPositionEmbeddings)
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-5
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000
        if let kv = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads), kv != numAttentionHeads {
            throw DecodingError.dataCorruptedError(forKey: .numKeyValueHeads, in: c,
                debugDescription: "grouped-query attention (num_key_value_heads \(kv) ≠ num_attention_heads \(numAttentionHeads)) is not supported")
        }
        if let tied = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings), !tied {
            throw DecodingError.dataCorruptedError(forKey: .tieWordEmbeddings, in: c,
                debugDescription: "StyleLM ties its input and output embeddings (tie_word_embeddings must be true)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numAttentionHeads, forKey: .numKeyValueHeads)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode("llama", forKey: .modelType)
        try c.encode(["LlamaForCausalLM"], forKey: .architectures)
        try c.encode(true, forKey: .tieWordEmbeddings)
        try c.encode("silu", forKey: .hiddenAct)
        try c.encode("float32", forKey: .torchDtype)
    }
}

/// Tensor names and shapes, as in Hugging Face's LLaMA layout. Linear weights are
/// `[out_features, in_features]` (y = x·Wᵀ). With tied embeddings there is no
/// `lm_head.weight`: the output projection is `model.embed_tokens.weight`.
public enum StyleLMWeights {
    public static let embedding = "model.embed_tokens.weight"
    public static let finalNorm = "model.norm.weight"

    /// The seven projections of one layer that LoRA may adapt.
    public enum Projection: String, CaseIterable, Codable, Sendable {
        case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
        case gate = "gate_proj", up = "up_proj", down = "down_proj"

        var module: String {
            switch self {
            case .q, .k, .v, .o: "self_attn"
            case .gate, .up, .down: "mlp"
            }
        }
    }

    /// `model.layers.{layer}.self_attn.q_proj.weight` and so on.
    public static func projection(_ p: Projection, layer: Int) -> String {
        "model.layers.\(layer).\(p.module).\(p.rawValue).weight"
    }
    public static func inputNorm(layer: Int) -> String { "model.layers.\(layer).input_layernorm.weight" }
    public static func postAttentionNorm(layer: Int) -> String { "model.layers.\(layer).post_attention_layernorm.weight" }

    /// `[out, in]` of a projection.
    public static func shape(_ p: Projection, _ c: StyleLMConfig) -> [Int] {
        switch p {
        case .q, .k, .v, .o: [c.hiddenSize, c.hiddenSize]
        case .gate, .up: [c.intermediateSize, c.hiddenSize]
        case .down: [c.hiddenSize, c.intermediateSize]
        }
    }

    /// Every tensor of the model with its shape, embedding included.
    public static func shapes(_ c: StyleLMConfig) -> [String: [Int]] {
        var shapes: [String: [Int]] = [embedding: [c.vocabSize, c.hiddenSize], finalNorm: [c.hiddenSize]]
        for layer in 0..<c.numHiddenLayers {
            shapes[inputNorm(layer: layer)] = [c.hiddenSize]
            shapes[postAttentionNorm(layer: layer)] = [c.hiddenSize]
            for p in Projection.allCases { shapes[projection(p, layer: layer)] = shape(p, c) }
        }
        return shapes
    }

    /// Fresh weights, the same for the same seed on every machine: norms 1, every other
    /// tensor normal(0, 0.02) (output projections scaled by 1/√(2·layers), as GPT-2
    /// does), drawn in name order from SplitMix64.
    public static func initial(_ c: StyleLMConfig, seed: UInt64) -> [String: [Float]] {
        var weights: [String: [Float]] = [:]
        for (name, shape) in shapes(c).sorted(by: { $0.key < $1.key }) {
            let count = shape.reduce(1, *)
            if name.hasSuffix("norm.weight") {
                weights[name] = [Float](repeating: 1, count: count)
                continue
            }
            var random = SplitMix64.stream(seed, name)
            var std: Float = 0.02
            if name.hasSuffix("o_proj.weight") || name.hasSuffix("down_proj.weight") {
                std /= Float(2 * c.numHiddenLayers).squareRoot()
            }
            weights[name] = (0..<count).map { _ in Float(random.gaussian()) * std }
        }
        return weights
    }
}

/// Parameter-efficient fine-tuning (Hu et al., 2021): each adapted projection W gets
/// W + (alpha / rank)·B·A, with A `[rank, in]` random and B `[out, rank]` zero, so
/// training starts from the base model exactly. Names follow PEFT's adapter files.
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var targets: [StyleLMWeights.Projection]

    public init(rank: Int = 8, alpha: Float = 16, targets: [StyleLMWeights.Projection] = StyleLMWeights.Projection.allCases) {
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
    }

    public var scale: Float { alpha / Float(rank) }

    /// `base_model.model.model.layers.{layer}.self_attn.q_proj.lora_A.weight`.
    public static func nameA(_ p: StyleLMWeights.Projection, layer: Int) -> String {
        "base_model.model." + StyleLMWeights.projection(p, layer: layer).dropLast(".weight".count) + ".lora_A.weight"
    }
    public static func nameB(_ p: StyleLMWeights.Projection, layer: Int) -> String {
        "base_model.model." + StyleLMWeights.projection(p, layer: layer).dropLast(".weight".count) + ".lora_B.weight"
    }

    /// Fresh adapters: A normal(0, 1/rank), B zero; deterministic for a seed.
    public func initial(_ c: StyleLMConfig, seed: UInt64) -> [String: [Float]] {
        var weights: [String: [Float]] = [:]
        for layer in 0..<c.numHiddenLayers {
            for p in targets {
                let shape = StyleLMWeights.shape(p, c)
                var random = SplitMix64.stream(seed, Self.nameA(p, layer: layer))
                let std = 1 / Float(rank)
                weights[Self.nameA(p, layer: layer)] = (0..<(rank * shape[1])).map { _ in Float(random.gaussian()) * std }
                weights[Self.nameB(p, layer: layer)] = [Float](repeating: 0, count: shape[0] * rank)
            }
        }
        return weights
    }
}
