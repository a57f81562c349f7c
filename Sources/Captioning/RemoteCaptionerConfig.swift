import Foundation
import LookbookCore

/// Settings of `RemoteCaptioner`: an OpenAI-compatible chat-completions endpoint with
/// vision (vLLM, Ollama, llama.cpp server, hosted APIs).
///
/// Field names in messages are the proposed `[captioner]` job-file keys (in brackets
/// below), so an error names what to fix.
public struct RemoteCaptionerConfig: Sendable, Equatable {
    /// The server's address, e.g. `http://gpu-box:8000` [base_url]. Requests go to
    /// `{baseURL}/v1/chat/completions`; a base URL that already ends in `/v1` (the
    /// OpenAI SDK convention) is accepted as well.
    public var baseURL: String
    /// The model name the server knows, e.g. `Qwen/Qwen2.5-VL-7B-Instruct` [model].
    public var model: String
    /// The NAME of the environment variable holding the API key, never the key itself
    /// [api_key_env]. Nil: no `Authorization` header (local servers).
    public var apiKeyEnv: String?
    /// Seconds one HTTP exchange may take, from sending to the last body byte
    /// [timeout_seconds]. A server that drips bytes slowly still hits it.
    public var timeoutSeconds: Double = 30
    /// Seconds one caption may take over all its attempts and waits, counted from when
    /// it got a concurrency slot [deadline_seconds].
    public var deadlineSeconds: Double = 120
    /// HTTP requests in flight at most [max_concurrent].
    public var maxConcurrent: Int = 4
    /// Retries after the first attempt of a transient failure (timeouts, 5xx, 429,
    /// unusable answers) [max_retries]. Client errors (400, 401, 403, 404, …) never retry.
    public var maxRetries: Int = 3
    /// Consecutive failed attempts that open the circuit breaker [breaker_threshold].
    public var breakerThreshold: Int = 5
    /// Seconds the breaker stays open (captions go to the fallback) before one trial
    /// request [breaker_cooldown_seconds].
    public var breakerCooldownSeconds: Double = 60
    /// Bytes of response body accepted; a larger answer is refused [max_response_bytes].
    public var maxResponseBytes: Int = 1 << 20
    /// `max_tokens` of the completion [max_tokens].
    public var maxTokens: Int = 200
    /// Sends `response_format: {"type": "json_object"}`; turn off for servers that reject
    /// it [json_mode].
    public var jsonMode: Bool = true
    /// Waits between retries (exponential, full jitter; `Retry-After` is a floor).
    public var backoff = Backoff()

    public init(baseURL: String, model: String, apiKeyEnv: String? = nil) {
        self.baseURL = baseURL; self.model = model; self.apiKeyEnv = apiKeyEnv
    }

    /// `NAME@VERSION` of captions made by this endpoint and model: bump the version when
    /// the prompt or the sanitizing changes.
    public var captionerID: String { "remote-\(model)@1" }

    /// The chat-completions URL, or a usage error naming the key to fix.
    public func endpoint() throws -> URL {
        var base = baseURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw LookbookError(.usage, "captioner.base_url must be an http or https URL such as http://localhost:8000, got \"\(baseURL)\"")
        }
        let path = base.hasSuffix("/v1") ? "/chat/completions" : "/v1/chat/completions"
        guard let endpoint = URL(string: base + path) else {
            throw LookbookError(.usage, "captioner.base_url \"\(baseURL)\" does not make a valid URL")
        }
        return endpoint
    }

    /// Throws a usage error naming the first out-of-range setting.
    public func validate() throws {
        _ = try endpoint()
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw LookbookError(.usage, "captioner.\(message)") }
        }
        try require(!model.trimmingCharacters(in: .whitespaces).isEmpty, "model must name the server's model")
        try require(apiKeyEnv.map { !$0.isEmpty && !$0.contains("=") } ?? true,
                    "api_key_env must be the name of an environment variable")
        try require(timeoutSeconds > 0 && timeoutSeconds <= 3600, "timeout_seconds must be in (0, 3600], got \(timeoutSeconds)")
        try require(deadlineSeconds > 0 && deadlineSeconds <= 86_400, "deadline_seconds must be in (0, 86400], got \(deadlineSeconds)")
        try require((1...256).contains(maxConcurrent), "max_concurrent must be between 1 and 256, got \(maxConcurrent)")
        try require((0...20).contains(maxRetries), "max_retries must be between 0 and 20, got \(maxRetries)")
        try require((1...10_000).contains(breakerThreshold), "breaker_threshold must be between 1 and 10000, got \(breakerThreshold)")
        try require(breakerCooldownSeconds >= 0 && breakerCooldownSeconds <= 86_400,
                    "breaker_cooldown_seconds must be in [0, 86400], got \(breakerCooldownSeconds)")
        try require(maxResponseBytes >= 1024 && maxResponseBytes <= 1 << 30,
                    "max_response_bytes must be between 1024 and 1 GiB, got \(maxResponseBytes)")
        try require((16...8192).contains(maxTokens), "max_tokens must be between 16 and 8192, got \(maxTokens)")
        try require(backoff.baseSeconds >= 0 && backoff.maxSeconds >= backoff.baseSeconds,
                    "backoff must have 0 <= base <= max seconds")
    }
}
