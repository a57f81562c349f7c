import Foundation
import LookbookCore
import TestSupport
import Testing
@testable import Captioning

/// `RemoteCaptioner` against a real HTTP server on loopback that speaks the OpenAI chat
/// format. Waits between retries are injected (recorded, not slept); only the
/// per-request timeouts run on the real clock, and they are short.
@Suite("RemoteCaptioner over HTTP")
struct RemoteCaptionerTests {
    @Test func fencedJSONAnswerBecomesACaption() async throws {
        let server = try LoopbackHTTPServer(script: [Remote.ok])
        defer { server.stop() }
        let captioner = try RemoteHarness().captioner(Remote.config(server))

        let caption = try await captioner.caption(Remote.request())

        #expect(caption.text == "navy striped cotton casual shirt")
        #expect(caption.captioner == "remote-test-vlm@1")
        #expect(caption.attributes == ["color": "navy", "color_family": "blue", "pattern": "striped",
                                       "material": "cotton", "style": "casual", "type": "shirt"])
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.target == "/v1/chat/completions")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["authorization"] == nil)
    }

    @Test func serverErrorIsRetriedThenSucceeds() async throws {
        let server = try LoopbackHTTPServer(script: [.json(500, #"{"error": {"message": "CUDA out of memory"}}"#), Remote.ok])
        defer { server.stop() }
        let harness = RemoteHarness()
        let captioner = try harness.captioner(Remote.config(server), fallback: StubFallbackCaptioner())

        let caption = try await captioner.caption(Remote.request())

        #expect(caption.captioner == captioner.id)
        #expect(server.requestCount == 2)
        #expect(harness.sleeps.all.count == 1)
        guard case .retrying(_, 1, _, let reason)? = harness.events.all.first else {
            Issue.record("no retry event: \(harness.events.all)"); return
        }
        #expect(reason.contains("HTTP 500"))
        #expect(reason.contains("CUDA out of memory"))
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let server = try LoopbackHTTPServer(script: [
            .json(429, #"{"error": "slow down"}"#, headers: [("Retry-After", "1")]), Remote.ok,
        ])
        defer { server.stop() }
        let harness = RemoteHarness()
        var config = Remote.config(server)
        config.backoff = Backoff(baseSeconds: 0.01, maxSeconds: 0.02)  // the jitter alone would wait < 1 s
        let captioner = try harness.captioner(config)

        _ = try await captioner.caption(Remote.request())

        #expect(server.requestCount == 2)
        let sleeps = harness.sleeps.all
        #expect(sleeps.count == 1)
        #expect(sleeps.allSatisfy { $0 >= .seconds(1) })
    }

    @Test func silentServerTimesOut() async throws {
        let server = try LoopbackHTTPServer(script: [.init(status: 200, body: Array(Remote.completion(Remote.fencedAnswer).utf8),
                                                           delayBeforeHead: 30)])
        defer { server.stop() }
        var config = Remote.config(server)
        config.timeoutSeconds = 0.5
        config.maxRetries = 0
        let captioner = try RemoteHarness().captioner(config)

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        // Timed from the server's threads: the client hung up at its 0.5 s limit, not at
        // the server's 30 s answer (the test's own clock would include the time this
        // process's busy task pool takes to resume it). On a loaded machine the client
        // may give up before it even connects: that counts as 0 s.
        #expect(server.longestConnectionSeconds().map { $0 < 10 } == true)
        #expect(error?.reason.contains("within 0.5 s") == true, "\(String(describing: error))")
    }

    /// A broken envelope, a model that answers in prose, an answer with nothing valid:
    /// failed requests, retried once (temperature 0 repeats itself), then handed to the
    /// fallback.
    @Test(arguments: [#"{"choices": [{"message": {"content": "navy shirt""#,
                      Remote.completion("Sorry, I can't see the image clearly."),
                      Remote.completion(#"{"caption": "", "color_family": "turquoise", "pattern": "zebra"}"#)])
    func unusableAnswerFallsBack(body: String) async throws {
        let server = try LoopbackHTTPServer(script: [.json(200, body)])
        defer { server.stop() }
        let harness = RemoteHarness()
        var config = Remote.config(server)
        config.maxRetries = 3
        let captioner = try harness.captioner(config, fallback: StubFallbackCaptioner())

        let caption = try await captioner.caption(Remote.request())

        #expect(caption.captioner == "embedded-test@1")
        #expect(server.requestCount == 2)
        #expect(harness.events.all.contains { if case .fellBack = $0 { true } else { false } })
    }

    @Test func unusableAnswerWithoutFallbackIsAClearError() async throws {
        let server = try LoopbackHTTPServer(script: [.json(200, "<html>gateway says hi</html>")])
        defer { server.stop() }
        var config = Remote.config(server)
        config.maxRetries = 0
        let captioner = try RemoteHarness().captioner(config)

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        #expect(error?.reason.contains("not an OpenAI chat completion") == true, "\(String(describing: error))")
    }

    @Test func slowDripHitsTheRequestTimeout() async throws {
        // Headers at once, then one byte every 0.2 s: URLSession's idle timeout never
        // fires, the whole-exchange limit must.
        let body = Array(Remote.completion(Remote.fencedAnswer).utf8)
        let server = try LoopbackHTTPServer(script: [.init(status: 200, headers: [("Content-Type", "application/json")],
                                                           body: body, dripInterval: 0.2)])
        defer { server.stop() }
        var config = Remote.config(server)
        config.timeoutSeconds = 1
        config.maxRetries = 0
        let captioner = try RemoteHarness().captioner(config)

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        // The whole drip would take ~70 s.
        #expect(server.longestConnectionSeconds().map { $0 < 20 } == true)
        #expect(error?.reason.contains("no complete answer") == true, "\(String(describing: error))")
    }

    /// With a declared `Content-Length` the answer is refused from its head; without one
    /// the byte count stops it.
    @Test(arguments: [true, false])
    func oversizedBodyIsRefused(declaresLength: Bool) async throws {
        let huge = Array(Remote.completion(String(repeating: "navy ", count: 400_000)).utf8)  // 2 MB
        let server = try LoopbackHTTPServer(script: [.init(status: 200, headers: [("Content-Type", "application/json")],
                                                           body: huge, sendContentLength: declaresLength)])
        defer { server.stop() }
        var config = Remote.config(server)
        config.maxRetries = 0
        config.maxResponseBytes = 64 * 1024
        let captioner = try RemoteHarness().captioner(config)

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        #expect(error?.reason.contains("larger than max_response_bytes = 65536") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("declared") == declaresLength)
    }

    /// The limit holds while the body streams in: the server sends 256 KiB and then
    /// stalls without closing, so a client that buffered to the end would time out
    /// instead of refusing.
    @Test func oversizedBodyIsRefusedWhileStreaming() async throws {
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let server = try LoopbackHTTPServer(script: [.init(status: 200, body: huge, stallAfterBodyBytes: 256 * 1024,
                                                           sendContentLength: false)])
        defer { server.stop() }
        var config = Remote.config(server)
        config.maxRetries = 0
        config.timeoutSeconds = 40
        config.maxResponseBytes = 64 * 1024
        let captioner = try RemoteHarness().captioner(config)

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        // Refused while the server stalls, long before the 40 s timeout.
        #expect(server.longestConnectionSeconds().map { $0 < 20 } == true)
        #expect(error?.reason.contains("larger than max_response_bytes") == true, "\(String(describing: error))")
    }

    @Test func unauthorizedIsNotRetriedAndSaysWhatToFix() async throws {
        let server = try LoopbackHTTPServer(script: [.json(401, #"{"error": {"message": "Incorrect API key provided: sk-test-SECRET-4242"}}"#)])
        defer { server.stop() }
        var harness = RemoteHarness()
        harness.environment = ["LOOKBOOK_TEST_KEY": "sk-test-SECRET-4242"]
        var config = Remote.config(server)
        config.apiKeyEnv = "LOOKBOOK_TEST_KEY"
        config.maxRetries = 5
        let captioner = try harness.captioner(config, fallback: StubFallbackCaptioner())

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }

        #expect(server.requestCount == 1)
        #expect(harness.sleeps.all.isEmpty)
        let reason = error?.reason ?? ""
        #expect(reason.contains("HTTP 401"))
        #expect(reason.contains("$LOOKBOOK_TEST_KEY"))
        #expect(!reason.contains("sk-test-SECRET-4242"))
        #expect(reason.contains("[redacted]"))  // the server's echo of the key, scrubbed
    }

    /// The key travels as a bearer token, and no error, event or dump shows it, even when
    /// the server echoes it back.
    @Test func apiKeyIsSentButNeverShown() async throws {
        let key = "sk-live-0123456789abcdef"
        let server = try LoopbackHTTPServer(handler: { index, _ in
            index == 0 ? Remote.ok : .json(503, #"{"error": {"message": "overloaded, key=\#(key)"}}"#)
        })
        defer { server.stop() }
        var harness = RemoteHarness()
        harness.environment = ["VLM_KEY": key]
        var config = Remote.config(server)
        config.apiKeyEnv = "VLM_KEY"
        config.maxRetries = 1
        let captioner = try harness.captioner(config)

        _ = try await captioner.caption(Remote.request())
        #expect(server.requests.first?.headers["authorization"] == "Bearer \(key)")

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        #expect(error.map { !"\($0)".contains(key) && $0.reason.contains("HTTP 503") } == true)
        #expect(!harness.events.all.isEmpty)
        #expect(harness.events.all.allSatisfy { !"\($0)".contains(key) })
        var dumped = ""
        dump(captioner, to: &dumped)
        #expect(!dumped.contains(key))
    }

    @Test func missingKeyVariableIsAUsageErrorNamingIt() throws {
        var config = RemoteCaptionerConfig(baseURL: "http://127.0.0.1:9", model: Remote.model, apiKeyEnv: "NOT_SET_ANYWHERE")
        config.maxRetries = 0
        let error = #expect(throws: LookbookError.self) { try RemoteHarness().captioner(config) }
        #expect(error?.code == .usage)
        #expect(error?.message.contains("$NOT_SET_ANYWHERE") == true)
    }

    @Test func breakerOpensFallsBackThenRecoversHalfOpen() async throws {
        let server = try LoopbackHTTPServer(handler: { index, _ in
            index < 3 ? .json(500, #"{"error": "down"}"#) : Remote.ok
        })
        defer { server.stop() }
        let harness = RemoteHarness()
        var config = Remote.config(server)
        config.maxRetries = 0
        config.breakerThreshold = 3
        config.breakerCooldownSeconds = 30
        let captioner = try harness.captioner(config, fallback: StubFallbackCaptioner())

        // Three failures: each caption falls back, the third opens the breaker.
        for _ in 0..<3 {
            #expect(try await captioner.caption(Remote.request()).captioner == "embedded-test@1")
        }
        #expect(server.requestCount == 3)
        #expect(harness.events.all.contains(.circuit(.opened(consecutiveFailures: 3))))

        // Open: straight to the fallback, the endpoint is left alone.
        #expect(try await captioner.caption(Remote.request()).captioner == "embedded-test@1")
        #expect(server.requestCount == 3)

        // After the cool-down one trial goes through; its success closes the breaker.
        harness.clock.advance(.seconds(31))
        #expect(try await captioner.caption(Remote.request()).captioner == captioner.id)
        #expect(try await captioner.caption(Remote.request()).captioner == captioner.id)
        #expect(server.requestCount == 5)
        let transitions = harness.events.all.compactMap { if case .circuit(let t) = $0 { t } else { nil } }
        #expect(transitions == [.opened(consecutiveFailures: 3), .halfOpened, .closed])
        #expect(await captioner.breaker.state == .closed(consecutiveFailures: 0))
    }

    @Test(arguments: [(Remote.jpeg, "image/jpeg"), (Remote.png, "image/png"), (Remote.webp, "image/webp")])
    func requestCarriesModelPromptAndDataURL(image: [UInt8], mime: String) async throws {
        let server = try LoopbackHTTPServer(script: [Remote.ok])
        defer { server.stop() }
        let captioner = try RemoteHarness().captioner(Remote.config(server))

        _ = try await captioner.caption(Remote.request(image: image))

        let body = try #require(server.requests.first?.body)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["model"] as? String == "test-vlm")
        #expect(json["temperature"] as? Double == 0)
        #expect(json["max_tokens"] as? Int == 200)
        #expect((json["response_format"] as? [String: Any])?["type"] as? String == "json_object")
        let messages = try #require(json["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user"])
        let parts = try #require(messages[1]["content"] as? [[String: Any]])
        let text = try #require(parts.first { $0["type"] as? String == "text" }?["text"] as? String)
        #expect(text.contains("colour, pattern, material, style, type"))
        #expect(text.contains("\"Men Navy Blue Striped Shirt\""))
        #expect(text.contains("\"Shirts\""))
        let url = try #require((parts.first { $0["type"] as? String == "image_url" }?["image_url"] as? [String: Any])?["url"] as? String)
        let prefix = "data:\(mime);base64,"
        #expect(url.hasPrefix(prefix))
        #expect(Data(base64Encoded: String(url.dropFirst(prefix.count))).map { Array($0) } == image)
    }

    @Test func imageOnlyRequestLeavesTheTextOut() async throws {
        let server = try LoopbackHTTPServer(script: [Remote.ok])
        defer { server.stop() }
        var config = Remote.config(server)
        config.jsonMode = false
        let captioner = try RemoteHarness().captioner(config)

        _ = try await captioner.caption(Remote.request(imageOnly: true))

        let body = try #require(server.requests.first?.bodyText)
        #expect(!body.contains("Navy Blue Striped"))
        #expect(!body.contains("Shirts"))
        #expect(!body.contains("response_format"))
    }

    @Test func concurrencyIsBounded() async throws {
        let server = try LoopbackHTTPServer(handler: { _, _ in
            var r = Remote.ok
            r.delayBeforeHead = 0.3
            return r
        })
        defer { server.stop() }
        var config = Remote.config(server)
        config.maxConcurrent = 2
        let captioner = try RemoteHarness().captioner(config)

        let captions = try await withThrowingTaskGroup(of: Caption.self) { group in
            for _ in 0..<6 { group.addTask { try await captioner.caption(Remote.request()) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        #expect(captions.count == 6)
        #expect(captions.allSatisfy { $0.captioner == captioner.id })
        // At least one request per image; a retry after a starved attempt (CI once saw 8
        // while CPU-heavy suites shared the 2 cores) is allowed, exceeding the bound is not.
        #expect(server.requestCount >= 6 && server.requestCount <= 6 * 3)
        #expect(server.maxInFlight == 2)
    }

    @Test func redirectIsNotFollowed() async throws {
        let server = try LoopbackHTTPServer(script: [.init(status: 302, headers: [("Location", "http://127.0.0.1:9/elsewhere")])])
        defer { server.stop() }
        let captioner = try RemoteHarness().captioner(Remote.config(server), fallback: StubFallbackCaptioner())

        let error = await #expect(throws: CaptionError.self) { try await captioner.caption(Remote.request()) }
        #expect(error?.reason.contains("HTTP 302 redirect") == true, "\(String(describing: error))")
        #expect(server.requestCount == 1)
    }

    @Test func unreachableEndpointFallsBack() async throws {
        // Bind and stop a server: nothing listens on its port any more.
        let gone = try LoopbackHTTPServer(script: [Remote.ok])
        gone.stop()
        var config = Remote.config(gone)
        config.maxRetries = 1
        let harness = RemoteHarness()
        let captioner = try harness.captioner(config, fallback: StubFallbackCaptioner())

        let caption = try await captioner.caption(Remote.request())
        #expect(caption.captioner == "embedded-test@1")
        guard case .fellBack(_, let reason)? = harness.events.all.last else {
            Issue.record("no fallback event"); return
        }
        #expect(reason.contains("cannot reach"))
    }

    @Test func retryAfterBeyondTheDeadlineFallsBackAtOnce() async throws {
        let server = try LoopbackHTTPServer(script: [.json(503, #"{"error": "maintenance"}"#, headers: [("Retry-After", "3600")])])
        defer { server.stop() }
        let harness = RemoteHarness()
        var config = Remote.config(server)
        config.deadlineSeconds = 120
        let captioner = try harness.captioner(config, fallback: StubFallbackCaptioner())

        let caption = try await captioner.caption(Remote.request())

        #expect(caption.captioner == "embedded-test@1")
        #expect(server.requestCount == 1)
        #expect(harness.sleeps.all.isEmpty)
        guard case .fellBack(_, let reason)? = harness.events.all.last else {
            Issue.record("no fallback event"); return
        }
        #expect(reason.contains("deadline_seconds"))
    }

    @Test func cancellingTheCallerAbortsTheRequest() async throws {
        let server = try LoopbackHTTPServer(script: [.init(status: 200, body: Array(Remote.completion(Remote.fencedAnswer).utf8),
                                                           delayBeforeHead: 30)])
        defer { server.stop() }
        var config = Remote.config(server)
        config.timeoutSeconds = 20
        let captioner = try RemoteHarness().captioner(config, fallback: StubFallbackCaptioner())

        let start = ContinuousClock.now
        let task = Task { try await captioner.caption(Remote.request()) }
        while server.requestCount == 0 && Remote.seconds(since: start) < 5 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(server.longestConnectionSeconds().map { $0 < 10 } == true)  // not the 20 s timeout
        // A cancelled attempt says nothing about the endpoint.
        #expect(await captioner.breaker.state == .closed(consecutiveFailures: 0))
    }
}
