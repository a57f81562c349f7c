import Foundation
import LookbookCore
import Testing
import TestSupport
@testable import StyleModel

/// A tiny model with adapters whose B is non-zero, so merging changes the weights.
struct ModelFixture {
    var config = StyleLMConfig.tiny()
    var lora = LoRAConfig(rank: 3, alpha: 5, targets: [.q, .v, .down])
    var weights: [String: [Float]]
    var adapters: [String: [Float]]
    var tokenizer = Data(#"{"version":"1.0","model":{"type":"BPE"}}"#.utf8)

    init(seed: UInt64 = 1) {
        weights = StyleLMWeights.initial(config, seed: seed)
        adapters = lora.initial(config, seed: seed)
        var random = SplitMix64(seed: seed &+ 99)
        for name in adapters.keys where name.hasSuffix("lora_B.weight") {
            adapters[name] = adapters[name]!.map { _ in Float(random.gaussian()) * 0.1 }
        }
    }

    func save(to dir: ModelDirectory, withAdapters: Bool = true, metadata: [String: String] = ["steps": "12"]) throws {
        try dir.save(config: config, weights: weights, tokenizerJSON: tokenizer,
                     adapters: withAdapters ? (lora, adapters) : nil, metadata: metadata)
    }
}

func jsonObject(_ url: URL) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
}

@Suite struct ModelDirectoryTests {
    @Test func roundTripKeepsEveryFileExactly() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        #expect(!dir.exists)
        let fixture = ModelFixture()
        try fixture.save(to: dir, metadata: ["steps": "12", "loss": "2.5"])
        #expect(dir.exists)

        let loaded = try dir.load()
        #expect(loaded.config == fixture.config)
        #expect(loaded.weights.mapValues { $0.map(\.bitPattern) } == fixture.weights.mapValues { $0.map(\.bitPattern) })
        #expect(loaded.tokenizerJSON == fixture.tokenizer)
        #expect(loaded.metadata == ["steps": "12", "loss": "2.5"])
        let adapters = try #require(loaded.adapters)
        #expect(adapters.0 == fixture.lora)
        #expect(adapters.1.mapValues { $0.map(\.bitPattern) } == fixture.adapters.mapValues { $0.map(\.bitPattern) })
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.url.path)) == [
            "config.json", "model.safetensors", "tokenizer.json", "adapter_config.json", "adapter_model.safetensors", "lookbook.json",
        ])
    }

    @Test func withoutAdaptersThereAreNoAdapterFiles() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        try ModelFixture().save(to: dir, withAdapters: false)
        #expect(try dir.load().adapters == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("adapter_config.json").path))
    }

    @Test func configJSONUsesHuggingFaceLlamaKeys() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        let fixture = ModelFixture()
        try fixture.save(to: dir)
        let config = try jsonObject(dir.url.appendingPathComponent("config.json"))
        #expect(config["model_type"] as? String == "llama")
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"])
        #expect(config["hidden_size"] as? Int == fixture.config.hiddenSize)
        #expect(config["intermediate_size"] as? Int == fixture.config.intermediateSize)
        #expect(config["num_hidden_layers"] as? Int == fixture.config.numHiddenLayers)
        #expect(config["num_attention_heads"] as? Int == fixture.config.numAttentionHeads)
        #expect(config["vocab_size"] as? Int == fixture.config.vocabSize)
        #expect(config["tie_word_embeddings"] as? Bool == true)
    }

    @Test func safetensorsCarryTheFormatMetadataHuggingFaceExpects() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        try ModelFixture().save(to: dir)
        #expect(try SafeTensors.read(dir.url.appendingPathComponent("model.safetensors")).metadata == ["format": "pt"])
        #expect(try SafeTensors.read(dir.url.appendingPathComponent("adapter_model.safetensors")).metadata == ["format": "pt"])
    }

    @Test func adapterConfigIsPEFT() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        try ModelFixture().save(to: dir)
        let peft = try jsonObject(dir.url.appendingPathComponent("adapter_config.json"))
        #expect(peft["peft_type"] as? String == "LORA")
        #expect(peft["task_type"] as? String == "CAUSAL_LM")
        #expect(peft["r"] as? Int == 3)
        #expect(peft["lora_alpha"] as? Int == 5)
        #expect(peft["target_modules"] as? [String] == ["q_proj", "v_proj", "down_proj"])
        #expect(peft["base_model_name_or_path"] is String)
        let names = try SafeTensors.read(dir.url.appendingPathComponent("adapter_model.safetensors")).tensors.keys
        #expect(names.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
    }

    @Test func aFailingSaveLeavesThePreviousModelIntact() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        let first = ModelFixture(seed: 1)
        try first.save(to: dir, metadata: ["run": "first"])

        var broken = ModelFixture(seed: 2)
        broken.weights[StyleLMWeights.projection(.k, layer: 1)]![5] = .nan
        let error = #expect(throws: ModelDirectoryError.self) { try broken.save(to: dir) }
        #expect(error?.file == "model.safetensors")
        #expect(error?.tensor == StyleLMWeights.projection(.k, layer: 1))

        let loaded = try dir.load()
        #expect(loaded.weights == first.weights)
        #expect(loaded.metadata == ["run": "first"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["model"])
    }

    @Test func aSecondSaveReplacesTheModelWhole() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        try ModelFixture(seed: 1).save(to: dir, withAdapters: true)
        let second = ModelFixture(seed: 2)
        try second.save(to: dir, withAdapters: false, metadata: ["run": "second"])
        let loaded = try dir.load()
        #expect(loaded.weights == second.weights)
        #expect(loaded.adapters == nil)  // the old adapter files went with the old directory
        #expect(loaded.metadata == ["run": "second"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["model"])
    }

    @Test func saveRefusesWeightsThatDoNotMatchTheConfig() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        var fixture = ModelFixture()
        fixture.weights[StyleLMWeights.finalNorm]!.removeLast()
        let error = #expect(throws: ModelDirectoryError.self) { try fixture.save(to: dir) }
        #expect(error?.code == .badTensor)
        #expect(error?.file == "model.safetensors")
        #expect(error?.tensor == StyleLMWeights.finalNorm)
        #expect(!FileManager.default.fileExists(atPath: dir.url.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
    }

    /// Damage done to a saved directory, and the file and tensor the error must name.
    struct Damage: CustomTestStringConvertible, Sendable {
        var label: String
        var file: String
        var tensor: String?
        var code: ModelDirectoryError.Code
        var apply: @Sendable (URL, ModelFixture) throws -> Void
        var testDescription: String { label }
    }

    static func rewrite(_ url: URL, _ file: String, _ change: (inout [String: NamedTensor]) -> Void) throws {
        let path = url.appendingPathComponent(file)
        var (tensors, metadata) = try SafeTensors.read(path)
        change(&tensors)
        try SafeTensors.write(tensors, metadata: metadata, to: path)
    }

    static let damages: [Damage] = [
        Damage(label: "base tensor missing", file: "model.safetensors", tensor: StyleLMWeights.inputNorm(layer: 1), code: .badTensor) { url, _ in
            try rewrite(url, "model.safetensors") { $0[StyleLMWeights.inputNorm(layer: 1)] = nil }
        },
        Damage(label: "base tensor of the wrong shape", file: "model.safetensors", tensor: StyleLMWeights.embedding, code: .badTensor) { url, _ in
            try rewrite(url, "model.safetensors") { t in
                let e = t[StyleLMWeights.embedding]!
                t[StyleLMWeights.embedding] = NamedTensor(shape: [e.shape[1], e.shape[0]], values: e.values)
            }
        },
        Damage(label: "stray base tensor", file: "model.safetensors", tensor: "lm_head.weight", code: .badTensor) { url, _ in
            try rewrite(url, "model.safetensors") { $0["lm_head.weight"] = NamedTensor(shape: [1], values: [0]) }
        },
        Damage(label: "adapter of the wrong rank", file: "adapter_model.safetensors",
               tensor: LoRAConfig.nameA(.v, layer: 0), code: .badTensor) { url, _ in
            try rewrite(url, "adapter_model.safetensors") { t in
                let name = LoRAConfig.nameA(.v, layer: 0)
                let a = t[name]!
                t[name] = NamedTensor(shape: [a.shape[0] - 1, a.shape[1]], values: Array(a.values.dropLast(a.shape[1])))
            }
        },
        Damage(label: "adapter missing", file: "adapter_model.safetensors",
               tensor: LoRAConfig.nameB(.down, layer: 1), code: .badTensor) { url, _ in
            try rewrite(url, "adapter_model.safetensors") { $0[LoRAConfig.nameB(.down, layer: 1)] = nil }
        },
        Damage(label: "corrupt safetensors", file: "model.safetensors", tensor: nil, code: .badFile) { url, _ in
            try Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{oops}  ".utf8)).write(to: url.appendingPathComponent("model.safetensors"))
        },
        Damage(label: "config.json missing", file: "config.json", tensor: nil, code: .missingFile) { url, _ in
            try FileManager.default.removeItem(at: url.appendingPathComponent("config.json"))
        },
        Damage(label: "config.json without hidden_size", file: "config.json", tensor: nil, code: .badFile) { url, _ in
            try Data(#"{"model_type":"llama","vocab_size":37}"#.utf8).write(to: url.appendingPathComponent("config.json"))
        },
        Damage(label: "adapter_config.json missing", file: "adapter_config.json", tensor: nil, code: .missingFile) { url, _ in
            try FileManager.default.removeItem(at: url.appendingPathComponent("adapter_config.json"))
        },
        Damage(label: "adapter targets an unknown module", file: "adapter_config.json", tensor: nil, code: .badFile) { url, _ in
            try Data(#"{"peft_type":"LORA","r":3,"lora_alpha":5,"target_modules":["lm_head"]}"#.utf8)
                .write(to: url.appendingPathComponent("adapter_config.json"))
        },
        Damage(label: "lookbook.json from a newer format", file: "lookbook.json", tensor: nil, code: .unsupportedVersion) { url, _ in
            try Data(#"{"format_version":999,"created_at":"2030-01-01T00:00:00Z","metadata":{}}"#.utf8)
                .write(to: url.appendingPathComponent("lookbook.json"))
        },
    ]

    @Test(arguments: damages)
    func loadNamesTheFileAndTensorThatAreWrong(_ damage: Damage) throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        let fixture = ModelFixture()
        try fixture.save(to: dir)
        try damage.apply(dir.url, fixture)
        let error = #expect(throws: ModelDirectoryError.self) { try dir.load() }
        #expect(error?.code == damage.code)
        #expect(error?.file == damage.file)
        #expect(error?.tensor == damage.tensor)
        if let tensor = damage.tensor { #expect(error?.description.contains(tensor) == true) }
        #expect(error?.description.hasPrefix(damage.file) == true)
    }

    @Test func loadingAMissingDirectoryNamesConfigJSON() throws {
        let tmp = try TempDirectory()
        let error = #expect(throws: ModelDirectoryError.self) { try ModelDirectory(tmp.url.appendingPathComponent("nope")).load() }
        #expect(error?.code == .missingFile)
        #expect(error?.file == "config.json")
    }

    @Test func loadReadsAPEFTConfigWrittenByPython() throws {
        let json = #"{"alpha_pattern": {}, "base_model_name_or_path": "x", "lora_alpha": 16, "lora_dropout": 0.05, "peft_type": "LORA", "r": 8, "target_modules": ["k_proj", "up_proj"], "task_type": "CAUSAL_LM", "use_dora": false}"#
        let lora = try ModelDirectory.parsePEFTConfig(Data(json.utf8))
        #expect(lora == LoRAConfig(rank: 8, alpha: 16, targets: [.k, .up]))
    }

    /// W + (alpha / rank)·B·A computed with plain loops in Double, against the BLAS merge.
    @Test func mergedWeightsMatchANaiveTripleLoop() throws {
        let f = ModelFixture()
        let merged = ModelDirectory.mergedWeights(base: f.weights, config: f.config, lora: f.lora, adapters: f.adapters)
        #expect(Set(merged.keys) == Set(f.weights.keys))
        let scale = Double(f.lora.alpha) / Double(f.lora.rank)
        var largestChange: Float = 0
        for layer in 0..<f.config.numHiddenLayers {
            for p in StyleLMWeights.Projection.allCases {
                let name = StyleLMWeights.projection(p, layer: layer)
                guard f.lora.targets.contains(p) else {
                    #expect(merged[name] == f.weights[name], "\(name) is not adapted and must not change")
                    continue
                }
                let (rows, cols) = (StyleLMWeights.shape(p, f.config)[0], StyleLMWeights.shape(p, f.config)[1])
                let a = f.adapters[LoRAConfig.nameA(p, layer: layer)]!
                let b = f.adapters[LoRAConfig.nameB(p, layer: layer)]!
                let w = f.weights[name]!
                let got = try #require(merged[name])
                for i in 0..<rows {
                    for j in 0..<cols {
                        var sum = 0.0
                        for k in 0..<f.lora.rank { sum += Double(b[i * f.lora.rank + k]) * Double(a[k * cols + j]) }
                        let expected = Double(w[i * cols + j]) + scale * sum
                        #expect(abs(Double(got[i * cols + j]) - expected) <= 1e-6 + 1e-5 * abs(expected), "\(name)[\(i), \(j)]")
                        largestChange = max(largestChange, abs(got[i * cols + j] - w[i * cols + j]))
                    }
                }
            }
        }
        #expect(largestChange > 1e-3)  // the adapters are not a no-op in this fixture
        #expect(merged[StyleLMWeights.embedding] == f.weights[StyleLMWeights.embedding])
    }
}

/// Python (json + struct only, no Lookbook code) opens what `ModelDirectory` writes.
@Suite struct ModelDirectoryPythonTests {
    static let python = "/usr/bin/python3"

    static let reader = """
        import json, struct, sys
        def read(path):
            with open(path, "rb") as f:
                blob = f.read()
            (n,) = struct.unpack("<Q", blob[:8])
            header = json.loads(blob[8:8 + n].decode("utf-8"))
            meta = header.pop("__metadata__", {})
            data = blob[8 + n:]
            out = {}
            for name, info in header.items():
                begin, end = info["data_offsets"]
                assert info["dtype"] == "F32"
                out[name] = {"shape": info["shape"], "values": list(struct.unpack("<%df" % ((end - begin) // 4), data[begin:end]))}
            return meta, out
        d = sys.argv[1]
        meta, model = read(d + "/model.safetensors")
        ameta, adapters = read(d + "/adapter_model.safetensors")
        config = json.load(open(d + "/config.json"))
        peft = json.load(open(d + "/adapter_config.json"))
        json.dump({"meta": meta, "model": model, "adapters": adapters, "model_type": config["model_type"],
                   "hidden_size": config["hidden_size"], "r": peft["r"], "target_modules": peft["target_modules"]}, sys.stdout)
        """

    struct Dump: Decodable {
        struct Tensor: Decodable { var shape: [Int]; var values: [Double] }
        var meta: [String: String]
        var model: [String: Tensor]
        var adapters: [String: Tensor]
        var model_type: String
        var hidden_size: Int
        var r: Int
        var target_modules: [String]
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs \(python)"))
    func pythonReadsTheSavedModelExactly() throws {
        let tmp = try TempDirectory()
        let dir = ModelDirectory(tmp.url.appendingPathComponent("model"))
        let fixture = ModelFixture()
        try fixture.save(to: dir)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = ["-c", Self.reader, dir.url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let dump = try JSONDecoder().decode(Dump.self, from: output)

        #expect(dump.meta == ["format": "pt"])
        #expect(dump.model_type == "llama")
        #expect(dump.hidden_size == fixture.config.hiddenSize)
        #expect(dump.r == fixture.lora.rank)
        #expect(dump.target_modules == fixture.lora.targets.map(\.rawValue))
        let shapes = StyleLMWeights.shapes(fixture.config)
        #expect(dump.model.mapValues(\.shape) == shapes)
        #expect(dump.model.mapValues { $0.values.map { Float($0).bitPattern } } == fixture.weights.mapValues { $0.map(\.bitPattern) })
        #expect(dump.adapters.mapValues { $0.values.map { Float($0).bitPattern } } == fixture.adapters.mapValues { $0.map(\.bitPattern) })
    }
}
