import Foundation
import LookbookCore
import TestSupport
@testable import Captioning

/// A monotonic clock that moves only when told (or when the captioner "sleeps").
final class RemoteTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private let origin = ContinuousClock.now
    private var offset: Duration = .zero

    func now() -> ContinuousClock.Instant { lock.lock(); defer { lock.unlock() }; return origin.advanced(by: offset) }
    func advance(_ d: Duration) { lock.lock(); offset += d; lock.unlock() }
}

/// Things recorded from concurrent callbacks.
final class RemoteRecorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    func append(_ e: Element) { lock.lock(); items.append(e); lock.unlock() }
    var all: [Element] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Stands in for the embedded captioner.
struct StubFallbackCaptioner: Captioner {
    let id = "embedded-test@1"
    func caption(_ request: CaptionRequest) async throws -> Caption {
        Caption(text: "fallback caption", attributes: ["color_family": "black"], captioner: id)
    }
}

/// A captioner wired to a manual clock, recorded sleeps and events, fixed jitter and a
/// private environment: no real waiting between retries, no process environment.
struct RemoteHarness {
    let clock = RemoteTestClock()
    let sleeps = RemoteRecorder<Duration>()
    let events = RemoteRecorder<RemoteCaptionerEvent>()
    var environment: [String: String] = [:]

    var hooks: RemoteCaptioner.Hooks {
        let clock = clock, sleeps = sleeps, events = events, environment = environment
        return RemoteCaptioner.Hooks(
            sleep: { d in sleeps.append(d); clock.advance(d) },
            now: { clock.now() },
            wallClock: { Date(timeIntervalSince1970: 1_700_000_000) },
            random: RemoteCaptioner.Hooks.seededRandom(42),
            environment: { environment[$0] },
            onEvent: { events.append($0) })
    }

    func captioner(_ config: RemoteCaptionerConfig, fallback: (any Captioner)? = nil) throws -> RemoteCaptioner {
        try RemoteCaptioner(config: config, fallback: fallback, hooks: hooks)
    }
}

enum Remote {
    static let model = "test-vlm"
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + (0..<60).map { UInt8($0) }
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<40).map { UInt8($0) }
    static let webp: [UInt8] = Array("RIFF".utf8) + [40, 0, 0, 0] + Array("WEBPVP8 ".utf8) + (0..<28).map { UInt8($0) }

    static func request(image: [UInt8] = jpeg, imageOnly: Bool = false) -> CaptionRequest {
        CaptionRequest(product: Product(id: "p1", title: "Men Navy Blue Striped Shirt", category: "Shirts"),
                       image: image, imageOnly: imageOnly)
    }

    /// Short timeouts, two retries, no breaker interference unless a test asks.
    static func config(_ server: LoopbackHTTPServer) -> RemoteCaptionerConfig {
        var c = RemoteCaptionerConfig(baseURL: server.baseURL, model: model)
        // Generous: tests that check timeouts set their own, and the success paths must
        // not time out while CPU-heavy suites share the 2 cores.
        c.timeoutSeconds = 15
        c.deadlineSeconds = 60
        c.maxRetries = 2
        c.breakerThreshold = 100
        c.maxResponseBytes = 4096
        return c
    }

    /// The model's answer the way chat models like to give it: fenced, with prose.
    static let fencedAnswer = """
        Here is the description:
        ```json
        {"caption": "Navy striped cotton casual shirt", "color": "Navy", "color_family": "blue",
         "pattern": "striped", "material": "cotton", "style": "casual", "type": "shirt"}
        ```
        """

    /// An OpenAI chat-completion envelope around `content`.
    static func completion(_ content: String) -> String {
        let envelope: [String: Any] = [
            "id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [["index": 0, "finish_reason": "stop",
                         "message": ["role": "assistant", "content": content]]],
        ]
        let data = try! JSONSerialization.data(withJSONObject: envelope)
        return String(decoding: data, as: UTF8.self)
    }

    static var ok: LoopbackHTTPServer.Response { .json(200, completion(fencedAnswer)) }

    /// Seconds since `start`, on the real clock.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
