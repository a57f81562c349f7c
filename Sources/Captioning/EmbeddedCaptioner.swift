import Imaging
import LookbookCore

/// The default captioner: colour and pattern from the pixels (background separated,
/// dominant colour named in CIELAB by CIEDE2000, texture features), material, style and
/// type from the text, assembled in the paper's order. Deterministic, local, fast.
///
/// When the image cannot be decoded, or there is none, the colour and pattern come from
/// the text (unless the request is image-only, which then fails with the decoder's
/// reason).
public struct EmbeddedCaptioner: Captioner {
    public static let name = "embedded"
    /// Bump when the output for the same input may change: the caption cache keys on it.
    public static let version = 5
    public var id: String { "\(Self.name)@\(Self.version)" }

    /// Images whose header declares more pixels are refused before decoding.
    public var maxPixels: Int
    /// Decoding target: large photos are DCT-scaled down to about this short side.
    public var analysisSize: Int

    public init(maxPixels: Int = 100_000_000, analysisSize: Int = 256) {
        self.maxPixels = maxPixels; self.analysisSize = analysisSize
    }

    public func caption(_ request: CaptionRequest) async throws -> Caption {
        try captionNow(request)
    }

    /// The synchronous core, for callers that are not async.
    public func captionNow(_ request: CaptionRequest) throws -> Caption {
        var visual: VisualAttributes?
        if let bytes = request.image {
            do {
                let image = try ImageDecoder.decode(bytes, maxPixels: maxPixels, targetSize: analysisSize).image
                visual = VisualAnalyzer.analyze(image, slot: request.product.slot)
            } catch {
                if request.imageOnly || request.product.title.isEmpty { throw CaptionError("\(error)") }
            }
        } else if request.imageOnly {
            throw CaptionError("no image to caption")
        }
        let text = request.imageOnly ? TextAttributes.Found() : TextAttributes.read(request.product)
        var attributes: [String: String] = [:]
        let color = visual?.color ?? text.color
        attributes["color"] = color
        attributes["color_family"] = visual?.colorFamily.rawValue ?? text.color.flatMap(Self.family(ofTextColor:))?.rawValue
        attributes["pattern"] = visual?.pattern ?? text.pattern
        attributes["material"] = text.material
        attributes["style"] = text.style
        attributes["type"] = text.type ?? (request.imageOnly ? nil : Self.typeWord(for: request.product.slot))
        let words = captionText(color: attributes["color"], pattern: attributes["pattern"], material: attributes["material"],
                                style: attributes["style"], type: attributes["type"])
        return Caption(text: words, attributes: attributes, captioner: id)
    }

    /// A colour word read from text, to its basic family through the dictionary.
    static func family(ofTextColor word: String) -> ColorFamily? {
        ColorDictionary.named(word)?.family ?? ColorFamily(rawValue: word)
    }

    /// The garment word when the text names none.
    static func typeWord(for slot: Slot) -> String? {
        switch slot {
        case .other: nil
        case .bottom: "bottoms"
        case .shoes: "shoes"
        case .jewellery: "jewellery"
        default: slot.rawValue
        }
    }
}

/// Chooses the captioner a job asks for: the embedded one, or a remote endpoint that
/// falls back to the embedded one when it keeps failing.
public enum CaptionerFactory {
    public static func make(_ settings: CaptionerSettings, maxPixels: Int = 100_000_000) throws -> any Captioner {
        let embedded = EmbeddedCaptioner(maxPixels: maxPixels)
        switch settings.kind {
        case .embedded:
            return embedded
        case .remote:
            guard let baseURL = settings.baseURL, let model = settings.model else {
                throw LookbookError(.badJobFile, "[captioner] kind = \"remote\" needs base_url and model")
            }
            var config = RemoteCaptionerConfig(baseURL: baseURL, model: model, apiKeyEnv: settings.apiKeyEnv)
            config.timeoutSeconds = settings.timeoutSeconds
            config.maxConcurrent = settings.concurrency
            config.maxRetries = settings.maxRetries
            config.breakerThreshold = settings.breakerThreshold
            config.breakerCooldownSeconds = settings.breakerCooldownSeconds
            return try RemoteCaptioner(config: config, fallback: embedded)
        }
    }
}
