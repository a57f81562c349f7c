import Foundation
import LookbookCore
import Testing
@testable import Captioning

/// The pure parts of the remote captioner: answer sanitizing, backoff, `Retry-After`,
/// the circuit breaker, the concurrency limiter and config checks.
@Suite("Remote captioner policies")
struct RemotePolicyTests {
    let sanitizer = CaptionSanitizer()

    // MARK: Sanitizer

    @Test(arguments: [
        "```json\n{\"caption\": \"Red floral silk party dress\", \"color_family\": \"red\"}\n```",
        "Sure! {\"caption\": \"Red floral silk party dress\", \"color_family\": \"red\"} Hope this helps.",
        "{\"caption\": \"Red floral silk party dress\", \"color_family\": \"red\", \"note\": \"{not} \\\"braces\\\" }\"}",
        "{ broken { \"caption\": \"Red floral silk party dress\", \"color_family\": \"red\"}",
    ])
    func firstJSONObjectIsFound(answer: String) throws {
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "remote-m@1"))
        #expect(caption.text == "red floral silk party dress")
        #expect(caption.attributes == ["color_family": "red"])
        #expect(caption.captioner == "remote-m@1")
    }

    @Test func controlAndFormatCharactersAndMarkupAreStripped() throws {
        let answer = #"{"caption": "Navy\u0000 \u202Estriped\u0007 <b>shirt</b>\n", "material": "cot\u200Bton\t"}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.text == "navy striped b shirt b")
        #expect(caption.attributes["material"] == "cot ton")
        #expect(caption.text.unicodeScalars.allSatisfy { $0.properties.generalCategory != .control && $0.properties.generalCategory != .format })
    }

    @Test func fieldsAreLengthLimited() throws {
        let long = String(repeating: "verylongword ", count: 40)
        let answer = #"{"caption": "\#(long)", "style": "\#(long)", "type": "\#(String(repeating: "x", count: 500))"}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.text.split(separator: " ").count <= 8)
        #expect(caption.text.count <= 80)
        #expect(caption.attributes.values.allSatisfy { $0.count <= 64 })
        #expect(caption.attributes["type"]?.count == 64)
    }

    @Test(arguments: [
        ("blue", "blue"), ("Gray", "grey"), ("GREY", "grey"), ("turquoise", nil), ("blue-ish", nil), ("", nil),
    ] as [(String, String?)])
    func colorFamilyIsValidated(value: String, expected: String?) throws {
        let answer = #"{"caption": "a shirt", "color_family": "\#(value)"}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.attributes["color_family"] == expected)
    }

    @Test(arguments: [
        ("striped", "striped"), ("Plaid", "checked"), ("polka dots", "dotted"), ("plain", "solid"),
        ("floral", "floral"), ("zebra", nil), ("animal print", nil),
    ] as [(String, String?)])
    func patternIsValidated(value: String, expected: String?) throws {
        let answer = #"{"caption": "a shirt", "pattern": "\#(value)"}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.attributes["pattern"] == expected)
    }

    @Test func nonStringValuesAreIgnored() throws {
        let answer = #"{"caption": ["navy", "shirt"], "color": 7, "pattern": null, "type": "shirt", "style": {"a": 1}}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.attributes == ["type": "shirt"])
        #expect(caption.text == "shirt")
    }

    @Test func missingCaptionIsBuiltFromAttributesInOrder() throws {
        let answer = #"{"type": "jeans", "style": "casual", "material": "denim", "pattern": "solid", "color": "indigo"}"#
        let caption = try #require(sanitizer.caption(fromModelOutput: answer, captioner: "x@1"))
        #expect(caption.text == "indigo solid denim casual jeans")
    }

    @Test(arguments: ["", "no json here", "{}", #"{"caption": "   ", "color_family": "mauve"}"#, "[1, 2, 3]",
                      #"{"caption": "\u0000\u0001"}"#])
    func emptyResultIsRejected(answer: String) {
        #expect(sanitizer.caption(fromModelOutput: answer, captioner: "x@1") == nil)
    }

    @Test func braceBombIsRejectedQuickly() {
        let answer = String(repeating: "{", count: 100_000) + #"{"caption": "too late"}"#
        #expect(sanitizer.caption(fromModelOutput: answer, captioner: "x@1") == nil)
    }

    @Test func chineseWordsSurvive() throws {
        let caption = try #require(sanitizer.caption(fromModelOutput: #"{"caption": "蓝色 条纹 棉 休闲 衬衫"}"#, captioner: "x@1"))
        #expect(caption.text == "蓝色 条纹 棉 休闲 衬衫")
    }

    // MARK: Backoff and Retry-After

    @Test func backoffIsExponentialWithFullJitterAndCapped() {
        let b = Backoff(baseSeconds: 0.5, maxSeconds: 4)
        #expect(b.delay(beforeRetry: 1, unit: 0) == .zero)
        #expect(b.delay(beforeRetry: 1, unit: 0.5) == .seconds(0.25))
        #expect(b.delay(beforeRetry: 3, unit: 0.5) == .seconds(1))
        #expect(b.delay(beforeRetry: 10, unit: 1) == .seconds(4))
        #expect(b.delay(beforeRetry: 1000, unit: 1) == .seconds(4))
        #expect(b.delay(beforeRetry: 1, unit: 0.1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(b.delay(beforeRetry: 5, unit: 1, retryAfter: .seconds(2)) == .seconds(4))
    }

    @Test func seededJitterIsReproducible() {
        let a = RemoteCaptioner.Hooks.seededRandom(7), b = RemoteCaptioner.Hooks.seededRandom(7)
        let xs = (0..<20).map { _ in a() }
        #expect(xs == (0..<20).map { _ in b() })
        #expect(xs.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(Set(xs).count == 20)
    }

    @Test(arguments: [
        ("1", 1.0), (" 120 ", 120.0), ("0", 0.0), ("1.5", 1.5),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 30.0),   // IMF-fixdate, 30 s after `now`
        ("Tuesday, 14-Nov-23 22:14:20 GMT", 30.0),  // RFC 850
        ("Tue Nov 14 22:14:20 2023", 30.0),         // asctime
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),     // in the past
    ])
    func retryAfterIsParsed(value: String, seconds: Double) throws {
        let now = Date(timeIntervalSince1970: 1_700_000_030)  // Tue, 14 Nov 2023 22:13:50 GMT
        let d = try #require(RetryAfter.parse(value, now: now))
        #expect(abs(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 - seconds) < 0.001)
    }

    @Test(arguments: ["", "soon", "-5", "1e3", "NaN", "Tue, 99 Nov 2023 22:14:20 GMT"])
    func badRetryAfterIsIgnored(value: String) {
        #expect(RetryAfter.parse(value, now: Date()) == nil)
    }

    // MARK: Circuit breaker

    @Test func breakerOpensAfterThresholdAndAdmitsOneTrial() async throws {
        let clock = RemoteTestClock()
        let breaker = CircuitBreaker(threshold: 2, cooldown: .seconds(10), now: { clock.now() })

        let a = try #require(await breaker.acquire())
        await breaker.record(a, .failure)
        let b = try #require(await breaker.acquire())
        await breaker.record(b, .success)  // a success resets the count
        for _ in 0..<2 { await breaker.record(try #require(await breaker.acquire()), .failure) }
        #expect(await breaker.acquire() == nil)
        #expect(await breaker.isRefusing())

        clock.advance(.seconds(10))
        #expect(!(await breaker.isRefusing()))
        let trial = try #require(await breaker.acquire())
        #expect(trial.isTrial)
        #expect(await breaker.acquire() == nil)  // one trial at a time

        await breaker.record(trial, .failure)    // the trial fails: open again
        #expect(await breaker.acquire() == nil)
        clock.advance(.seconds(10))
        let abandoned = try #require(await breaker.acquire())
        await breaker.record(abandoned, .abandoned)  // cancelled: the next one may try
        let second = try #require(await breaker.acquire())
        #expect(second.isTrial)
        await breaker.record(second, .success)
        #expect(await breaker.state == .closed(consecutiveFailures: 0))
    }

    // MARK: Limiter

    @Test func limiterQueuesAndDropsCancelledWaiters() async throws {
        let limiter = ConcurrencyLimiter(limit: 1)
        try await limiter.acquire()
        let waiter = Task { try await limiter.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await limiter.release()
        #expect(await limiter.inUse == 0)
        try await limiter.acquire()  // the cancelled waiter did not keep the slot
        #expect(await limiter.inUse == 1)
        await limiter.release()
    }

    // MARK: Config

    @Test(arguments: [
        ("http://gpu:8000", "http://gpu:8000/v1/chat/completions"),
        ("http://gpu:8000/", "http://gpu:8000/v1/chat/completions"),
        ("https://api.example.com/v1", "https://api.example.com/v1/chat/completions"),
        ("http://127.0.0.1:11434/proxy", "http://127.0.0.1:11434/proxy/v1/chat/completions"),
    ])
    func endpointFromBaseURL(base: String, expected: String) throws {
        #expect(try RemoteCaptionerConfig(baseURL: base, model: "m").endpoint().absoluteString == expected)
    }

    @Test(arguments: ["", "gpu:8000", "ftp://gpu/", "http://"])
    func badBaseURLIsAUsageError(base: String) {
        let error = #expect(throws: LookbookError.self) { try RemoteCaptionerConfig(baseURL: base, model: "m").validate() }
        #expect(error?.message.contains("captioner.base_url") == true)
    }

    @Test func outOfRangeSettingNamesItsKey() {
        var config = RemoteCaptionerConfig(baseURL: "http://gpu:8000", model: "m")
        config.maxConcurrent = 0
        let error = #expect(throws: LookbookError.self) { try config.validate() }
        #expect(error?.message.contains("captioner.max_concurrent") == true)
    }

    @Test func idNamesModelAndVersion() {
        #expect(RemoteCaptionerConfig(baseURL: "http://gpu:8000", model: "qwen2.5-vl").captionerID == "remote-qwen2.5-vl@1")
    }
}
