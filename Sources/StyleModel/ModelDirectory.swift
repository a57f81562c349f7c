import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a model directory cannot be saved or loaded: the file, and the tensor if any.
public struct ModelDirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A required file is absent (`config.json`, `model.safetensors`, …).
        case missingFile = "missing-file"
        /// A file cannot be parsed or holds values that make no model.
        case badFile = "bad-file"
        /// A tensor is absent, unexpected, of the wrong shape, or not finite.
        case badTensor = "bad-tensor"
        /// The directory was written by a newer Lookbook.
        case unsupportedVersion = "unsupported-version"
        case io
    }

    public var code: Code
    /// The file inside the model directory (`model.safetensors`).
    public var file: String
    public var tensor: String?
    public var message: String
    /// The error underneath (a `SafeTensorsError`, a decoding error), as text.
    public var underlying: String?

    public init(_ code: Code, file: String, tensor: String? = nil, _ message: String, underlying: String? = nil) {
        self.code = code; self.file = file; self.tensor = tensor; self.message = message; self.underlying = underlying
    }

    public var description: String {
        var text = file
        if let tensor { text += ": tensor '\(tensor)'" }
        text += ": " + message
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

/// Lookbook's own record in `lookbook.json`: which format wrote the directory, when,
/// and free-form facts about the training run (steps, loss, data hash, …).
public struct ModelDirectoryInfo: Codable, Sendable, Equatable {
    /// `StyleModelInfo.formatVersion` of the writer.
    public var formatVersion: Int
    /// ISO 8601, UTC.
    public var createdAt: String
    public var metadata: [String: String]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", createdAt = "created_at", metadata
    }
}

/// A StyleLM checkpoint on disk, laid out as Hugging Face and PEFT expect so that
/// `transformers` and `peft` load it as is:
///
/// - `config.json`: `StyleLMConfig` (LLaMA keys);
/// - `model.safetensors`: base weights, F32, metadata `{"format": "pt"}`;
/// - `tokenizer.json`: stored byte for byte (the tokenizer owns its format);
/// - `adapter_config.json` + `adapter_model.safetensors`: optional LoRA adapters (PEFT);
/// - `lookbook.json`: `ModelDirectoryInfo`.
///
/// A directory is written whole into a hidden sibling and renamed into place, so a
/// reader sees the previous model or the new one, never a mix.
public struct ModelDirectory {
    public let url: URL

    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let tokenizerFile = "tokenizer.json"
    public static let adapterConfigFile = "adapter_config.json"
    public static let adapterWeightsFile = "adapter_model.safetensors"
    public static let infoFile = "lookbook.json"

    public init(_ url: URL) { self.url = url }

    /// Whether the directory holds a model (its config and base weights).
    public var exists: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: url.appendingPathComponent(Self.configFile).path)
            && fm.fileExists(atPath: url.appendingPathComponent(Self.weightsFile).path)
    }

    // MARK: Saving

    /// Writes the model, replacing any model already at `url`.
    ///
    /// Everything is validated and encoded in memory first (names and shapes against
    /// `config`, finite values), so a bad model throws before the disk is touched. The
    /// files go into a hidden sibling directory, fsynced; then an existing directory is
    /// renamed aside, the new one renamed in, and the old one deleted. Should the process
    /// die between the two renames, the previous model is left at `.<name>.previous-*`.
    public func save(config: StyleLMConfig, weights: [String: [Float]], tokenizerJSON: Data,
                     adapters: (LoRAConfig, [String: [Float]])?, metadata: [String: String]) throws(ModelDirectoryError) {
        if let problem = config.problem() { throw ModelDirectoryError(.badFile, file: Self.configFile, problem) }
        var files: [(String, [UInt8])] = []

        let configJSON: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            configJSON = try encoder.encode(config)
        } catch {
            throw ModelDirectoryError(.badFile, file: Self.configFile, "cannot encode the configuration", underlying: "\(error)")
        }
        files.append((Self.configFile, Array(configJSON)))

        let baseShapes = StyleLMWeights.shapes(config)
        let base = try Self.tensors(weights, shapes: baseShapes, file: Self.weightsFile)
        files.append((Self.weightsFile, try Self.encode(base, metadata: ["format": "pt"], file: Self.weightsFile)))
        files.append((Self.tokenizerFile, Array(tokenizerJSON)))

        if let (lora, adapterWeights) = adapters {
            if let problem = Self.problem(lora) { throw ModelDirectoryError(.badFile, file: Self.adapterConfigFile, problem) }
            let tensors = try Self.tensors(adapterWeights, shapes: Self.adapterShapes(lora, config), file: Self.adapterWeightsFile)
            files.append((Self.adapterConfigFile, Self.peftConfigJSON(lora, baseModel: url.standardizedFileURL.path)))
            files.append((Self.adapterWeightsFile, try Self.encode(tensors, metadata: ["format": "pt"], file: Self.adapterWeightsFile)))
        }

        let info = ModelDirectoryInfo(formatVersion: StyleModelInfo.formatVersion,
                                      createdAt: ISO8601DateFormatter().string(from: Date()), metadata: metadata)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            files.append((Self.infoFile, Array(try encoder.encode(info))))
        } catch {
            throw ModelDirectoryError(.badFile, file: Self.infoFile, "cannot encode the metadata", underlying: "\(error)")
        }

        try publish(files)
    }

    /// Writes `files` into a fresh hidden sibling and swaps it in for `url`.
    private func publish(_ files: [(String, [UInt8])]) throws(ModelDirectoryError) {
        let target = url.standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let name = target.lastPathComponent
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let staging = parent.appendingPathComponent(".\(name).partial-\(tag)")
        let previous = parent.appendingPathComponent(".\(name).previous-\(tag)")
        let fm = FileManager.default

        func io(_ what: String, _ path: String) -> ModelDirectoryError {
            let code = errno
            return ModelDirectoryError(.io, file: path, "\(what) failed", underlying: "\(String(cString: strerror(code))) (errno \(code))")
        }
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ModelDirectoryError(.io, file: parent.path, "cannot create the parent directory", underlying: "\(error)")
        }
        guard mkdir(staging.path, 0o755) == 0 else { throw io("mkdir", staging.path) }
        do throws(SafeTensorsError) {
            for (file, bytes) in files {
                try DurableFile.create(staging.appendingPathComponent(file).path, with: bytes)
            }
            try DurableFile.syncDirectory(staging.path)
        } catch {
            try? fm.removeItem(at: staging)
            throw ModelDirectoryError(.io, file: error.file ?? staging.path, "cannot write the new model", underlying: error.message)
        }

        var isDirectory: ObjCBool = false
        let replacing = fm.fileExists(atPath: target.path, isDirectory: &isDirectory)
        if replacing {
            guard isDirectory.boolValue else {
                try? fm.removeItem(at: staging)
                throw ModelDirectoryError(.io, file: target.path, "exists and is not a directory; move it away or choose another model path")
            }
            guard rename(target.path, previous.path) == 0 else {
                let error = io("rename the previous model aside", target.path)
                try? fm.removeItem(at: staging)
                throw error
            }
        }
        guard rename(staging.path, target.path) == 0 else {
            let error = io("rename the new model into place", target.path)
            if replacing { _ = rename(previous.path, target.path) }
            try? fm.removeItem(at: staging)
            throw error
        }
        do throws(SafeTensorsError) { try DurableFile.syncDirectory(parent.path) } catch {
            throw ModelDirectoryError(.io, file: parent.path, "cannot make the rename durable", underlying: error.message)
        }
        if replacing { try? fm.removeItem(at: previous) }
    }

    // MARK: Loading

    /// Reads and validates the model: every base tensor present with the shape
    /// `StyleLMWeights.shapes(config)` gives, no stray tensors, finite values; adapters,
    /// when present, complete for their `LoRAConfig`. Errors name the file and tensor.
    public func load() throws(ModelDirectoryError) -> (config: StyleLMConfig, weights: [String: [Float]], tokenizerJSON: Data,
                                                         adapters: (LoRAConfig, [String: [Float]])?, metadata: [String: String]) {
        let infoData = try readFile(Self.infoFile, required: false)
        var metadata: [String: String] = [:]
        if let infoData {
            let info: ModelDirectoryInfo
            do { info = try JSONDecoder().decode(ModelDirectoryInfo.self, from: infoData) } catch {
                throw ModelDirectoryError(.badFile, file: Self.infoFile, "is not Lookbook model metadata", underlying: "\(error)")
            }
            guard info.formatVersion <= StyleModelInfo.formatVersion else {
                throw ModelDirectoryError(.unsupportedVersion, file: Self.infoFile,
                    "the model has format version \(info.formatVersion), newer than this Lookbook's \(StyleModelInfo.formatVersion); upgrade Lookbook")
            }
            metadata = info.metadata
        }

        let configData = try readFile(Self.configFile, required: true)!
        let config: StyleLMConfig
        do { config = try JSONDecoder().decode(StyleLMConfig.self, from: configData) } catch {
            throw ModelDirectoryError(.badFile, file: Self.configFile, "is not a StyleLM (LLaMA) configuration", underlying: "\(error)")
        }
        if let problem = config.problem() { throw ModelDirectoryError(.badFile, file: Self.configFile, problem) }

        let weights = try readTensors(Self.weightsFile, shapes: StyleLMWeights.shapes(config))
        let tokenizer = try readFile(Self.tokenizerFile, required: true)!

        let adapterConfig = try readFile(Self.adapterConfigFile, required: false)
        let adapterWeightsPresent = FileManager.default.fileExists(atPath: url.appendingPathComponent(Self.adapterWeightsFile).path)
        var adapters: (LoRAConfig, [String: [Float]])?
        switch (adapterConfig, adapterWeightsPresent) {
        case (nil, false): adapters = nil
        case (nil, true):
            throw ModelDirectoryError(.missingFile, file: Self.adapterConfigFile, "is missing although \(Self.adapterWeightsFile) is present")
        case (let data?, false):
            _ = data
            throw ModelDirectoryError(.missingFile, file: Self.adapterWeightsFile, "is missing although \(Self.adapterConfigFile) is present")
        case (let data?, true):
            let lora = try Self.parsePEFTConfig(data)
            adapters = (lora, try readTensors(Self.adapterWeightsFile, shapes: Self.adapterShapes(lora, config)))
        }
        return (config, weights, tokenizer, adapters, metadata)
    }

    private func readFile(_ name: String, required: Bool) throws(ModelDirectoryError) -> Data? {
        let path = url.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw ModelDirectoryError(.missingFile, file: name, "is missing from the model directory \(url.path)") }
            return nil
        }
        do throws(SafeTensorsError) { return Data(try DurableFile.read(path)) } catch {
            throw ModelDirectoryError(.io, file: name, "cannot be read", underlying: error.message)
        }
    }

    private func readTensors(_ name: String, shapes: [String: [Int]]) throws(ModelDirectoryError) -> [String: [Float]] {
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) else {
            throw ModelDirectoryError(.missingFile, file: name, "is missing from the model directory \(url.path)")
        }
        let tensors: [String: NamedTensor]
        do throws(SafeTensorsError) { tensors = try SafeTensors.read(url.appendingPathComponent(name)).tensors } catch {
            throw ModelDirectoryError(.badFile, file: name, tensor: error.tensor, "is not a valid safetensors file", underlying: error.message)
        }
        for (tensorName, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            guard let expected = shapes[tensorName] else {
                throw ModelDirectoryError(.badTensor, file: name, tensor: tensorName, "is not part of this model's configuration")
            }
            guard tensor.shape == expected else {
                throw ModelDirectoryError(.badTensor, file: name, tensor: tensorName, "has shape \(tensor.shape); the configuration needs \(expected)")
            }
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelDirectoryError(.badTensor, file: name, tensor: tensorName, "value \(bad) is \(tensor.values[bad]); the checkpoint is corrupt")
            }
        }
        if let missing = shapes.keys.sorted().first(where: { tensors[$0] == nil }) {
            throw ModelDirectoryError(.badTensor, file: name, tensor: missing, "is missing (\(shapes.count - tensors.count) of \(shapes.count) tensors are)")
        }
        return tensors.mapValues(\.values)
    }

    // MARK: Validation and encoding helpers

    /// `shapes`' tensors from `values`, checked: no missing, stray or mis-sized tensor.
    private static func tensors(_ values: [String: [Float]], shapes: [String: [Int]], file: String) throws(ModelDirectoryError) -> [String: NamedTensor] {
        var out: [String: NamedTensor] = [:]
        for (name, v) in values.sorted(by: { $0.key < $1.key }) {
            guard let shape = shapes[name] else {
                throw ModelDirectoryError(.badTensor, file: file, tensor: name, "is not part of this model's configuration")
            }
            let count = shape.reduce(1, *)
            guard v.count == count else {
                throw ModelDirectoryError(.badTensor, file: file, tensor: name, "has \(v.count) values; shape \(shape) needs \(count)")
            }
            out[name] = NamedTensor(shape: shape, values: v)
        }
        if let missing = shapes.keys.sorted().first(where: { values[$0] == nil }) {
            throw ModelDirectoryError(.badTensor, file: file, tensor: missing, "is missing")
        }
        return out
    }

    private static func encode(_ tensors: [String: NamedTensor], metadata: [String: String], file: String) throws(ModelDirectoryError) -> [UInt8] {
        do throws(SafeTensorsError) { return try SafeTensors.encode(tensors, metadata: metadata) } catch {
            throw ModelDirectoryError(error.code == .nonFinite ? .badTensor : .badFile, file: file, tensor: error.tensor, error.message)
        }
    }

    /// Every adapter tensor of `lora` on `config`: A `[rank, in]`, B `[out, rank]`.
    public static func adapterShapes(_ lora: LoRAConfig, _ config: StyleLMConfig) -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for layer in 0..<config.numHiddenLayers {
            for p in lora.targets {
                let s = StyleLMWeights.shape(p, config)
                shapes[LoRAConfig.nameA(p, layer: layer)] = [lora.rank, s[1]]
                shapes[LoRAConfig.nameB(p, layer: layer)] = [s[0], lora.rank]
            }
        }
        return shapes
    }

    private static func problem(_ lora: LoRAConfig) -> String? {
        if lora.rank < 1 { return "r (the LoRA rank) must be at least 1, got \(lora.rank)" }
        if !lora.alpha.isFinite { return "lora_alpha must be a finite number, got \(lora.alpha)" }
        if lora.targets.isEmpty { return "target_modules must name at least one projection" }
        if Set(lora.targets).count != lora.targets.count { return "target_modules names a projection twice" }
        return nil
    }

    // MARK: PEFT adapter_config.json

    /// The PEFT `adapter_config.json` for `lora`. Keys in PEFT's spelling; `lora_alpha`
    /// stays an integer when it is one, as PEFT writes it.
    static func peftConfigJSON(_ lora: LoRAConfig, baseModel: String) -> [UInt8] {
        let alpha = lora.alpha == lora.alpha.rounded() && abs(lora.alpha) < 1e9 ? String(Int(lora.alpha)) : "\(lora.alpha)"
        let fields: [(String, String)] = [
            ("base_model_name_or_path", SafeTensors.jsonString(baseModel)),
            ("bias", "\"none\""),
            ("fan_in_fan_out", "false"),
            ("inference_mode", "true"),
            ("lora_alpha", alpha),
            ("lora_dropout", "0.0"),
            ("peft_type", "\"LORA\""),
            ("r", String(lora.rank)),
            ("target_modules", "[" + lora.targets.map { SafeTensors.jsonString($0.rawValue) }.joined(separator: ", ") + "]"),
            ("task_type", "\"CAUSAL_LM\""),
            ("use_rslora", "false"),
        ]
        return Array(("{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n").utf8)
    }

    private struct PEFTConfig: Decodable {
        var peftType: String?
        var r: Int
        var loraAlpha: Float
        var targetModules: [String]
        var useRslora: Bool?
        var useDora: Bool?
        enum CodingKeys: String, CodingKey {
            case peftType = "peft_type", r, loraAlpha = "lora_alpha", targetModules = "target_modules"
            case useRslora = "use_rslora", useDora = "use_dora"
        }
    }

    /// Reads a PEFT `adapter_config.json`, refusing what StyleLM cannot apply.
    static func parsePEFTConfig(_ data: Data) throws(ModelDirectoryError) -> LoRAConfig {
        let file = adapterConfigFile
        let peft: PEFTConfig
        do { peft = try JSONDecoder().decode(PEFTConfig.self, from: data) } catch {
            throw ModelDirectoryError(.badFile, file: file, "is not a PEFT LoRA configuration (needs r, lora_alpha, target_modules)", underlying: "\(error)")
        }
        if let type = peft.peftType, type != "LORA" {
            throw ModelDirectoryError(.badFile, file: file, "peft_type is \(type); only LORA adapters are supported")
        }
        if peft.useRslora == true || peft.useDora == true {
            throw ModelDirectoryError(.badFile, file: file, "rsLoRA and DoRA adapters are not supported (use_rslora and use_dora must be false)")
        }
        var targets: [StyleLMWeights.Projection] = []
        for module in peft.targetModules {
            guard let p = StyleLMWeights.Projection(rawValue: module) else {
                throw ModelDirectoryError(.badFile, file: file,
                    "target_modules names '\(module)'; StyleLM adapts only \(StyleLMWeights.Projection.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            targets.append(p)
        }
        let lora = LoRAConfig(rank: peft.r, alpha: peft.loraAlpha, targets: targets)
        if let problem = problem(lora) { throw ModelDirectoryError(.badFile, file: file, problem) }
        return lora
    }

    // MARK: Merging

    /// The base weights with the adapters folded in: W + (alpha / rank)·B·A for every
    /// adapted projection, through `cblas_sgemm`; other tensors are returned unchanged.
    ///
    /// `base` and `adapters` must match `config` and `lora` (as `load` guarantees); a
    /// mismatch is a programming error.
    public static func mergedWeights(base: [String: [Float]], config: StyleLMConfig, lora: LoRAConfig,
                                     adapters: [String: [Float]]) -> [String: [Float]] {
        var merged = base
        let rank = lora.rank
        for layer in 0..<config.numHiddenLayers {
            for p in lora.targets {
                let name = StyleLMWeights.projection(p, layer: layer)
                let shape = StyleLMWeights.shape(p, config)
                let (out, inFeatures) = (shape[0], shape[1])
                guard var w = merged[name], let a = adapters[LoRAConfig.nameA(p, layer: layer)],
                      let b = adapters[LoRAConfig.nameB(p, layer: layer)] else {
                    preconditionFailure("mergedWeights: \(name) or its adapters are missing; validate with load() first")
                }
                precondition(w.count == out * inFeatures && a.count == rank * inFeatures && b.count == out * rank,
                             "mergedWeights: \(name) or its adapters do not match the configuration")
                // W[out, in] += scale · B[out, rank] · A[rank, in]
                b.withUnsafeBufferPointer { pb in
                    a.withUnsafeBufferPointer { pa in
                        w.withUnsafeMutableBufferPointer { pw in
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(out), Int32(inFeatures), Int32(rank),
                                        lora.scale, pb.baseAddress, Int32(rank), pa.baseAddress, Int32(inFeatures),
                                        1, pw.baseAddress, Int32(inFeatures))
                        }
                    }
                }
                merged[name] = w
            }
        }
        return merged
    }
}
