/// A circuit breaker for one remote endpoint.
///
/// Closed: every attempt goes through; `threshold` consecutive failed attempts open it.
/// Open: attempts are refused (the caller falls back) until `cooldown` has passed on
/// the injected clock. Half-open: exactly one trial attempt goes through; its success
/// closes the breaker, its failure opens it for another cool-down, and other attempts
/// are refused meanwhile. An abandoned trial (the caller was cancelled) lets the next
/// attempt try.
public actor CircuitBreaker {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen(trialInFlight: Bool)
    }

    /// The right to make one attempt; hand it back with `record`.
    public struct Permit: Sendable {
        public let isTrial: Bool
    }

    public enum Outcome: Sendable {
        /// The endpoint answered usefully (or answered a client error: it is up).
        case success
        /// The attempt failed in a way that suggests the endpoint is unwell.
        case failure
        /// The attempt ended without telling anything (cancelled).
        case abandoned
    }

    public enum Transition: Sendable, Equatable {
        case opened(consecutiveFailures: Int)
        case halfOpened
        case closed
    }

    public let threshold: Int
    public let cooldown: Duration
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    private let now: @Sendable () -> ContinuousClock.Instant
    private let onTransition: @Sendable (Transition) -> Void

    /// - Parameters:
    ///   - threshold: consecutive failures that open the breaker (at least 1).
    ///   - now: the monotonic clock, injectable so tests can jump over a cool-down.
    public init(threshold: Int, cooldown: Duration,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                onTransition: @escaping @Sendable (Transition) -> Void = { _ in }) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.now = now
        self.onTransition = onTransition
    }

    /// Whether an attempt now would be refused; reserves nothing.
    public func isRefusing() -> Bool {
        switch state {
        case .closed: return false
        case .open(let until): return now() < until
        case .halfOpen(let trialInFlight): return trialInFlight
        }
    }

    /// A permit for one attempt, or nil when the breaker refuses it.
    public func acquire() -> Permit? {
        switch state {
        case .closed:
            return Permit(isTrial: false)
        case .open(let until):
            guard now() >= until else { return nil }
            state = .halfOpen(trialInFlight: true)
            onTransition(.halfOpened)
            return Permit(isTrial: true)
        case .halfOpen(let trialInFlight):
            guard !trialInFlight else { return nil }
            state = .halfOpen(trialInFlight: true)
            return Permit(isTrial: true)
        }
    }

    public func record(_ permit: Permit, _ outcome: Outcome) {
        if permit.isTrial {
            switch outcome {
            case .success:
                state = .closed(consecutiveFailures: 0)
                onTransition(.closed)
            case .failure:
                open(after: threshold)
            case .abandoned:
                if case .halfOpen = state { state = .halfOpen(trialInFlight: false) }
            }
            return
        }
        // A late answer to an attempt made while closed only matters if still closed.
        guard case .closed(let failures) = state else { return }
        switch outcome {
        case .success: state = .closed(consecutiveFailures: 0)
        case .failure:
            if failures + 1 >= threshold { open(after: failures + 1) } else { state = .closed(consecutiveFailures: failures + 1) }
        case .abandoned: break
        }
    }

    private func open(after failures: Int) {
        state = .open(until: now().advanced(by: cooldown))
        onTransition(.opened(consecutiveFailures: failures))
    }
}
