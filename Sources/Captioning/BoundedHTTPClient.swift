import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP answer, body complete and within the size limit.
struct HTTPAnswer: Sendable {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: [UInt8]
}

/// Why an exchange produced no answer.
enum HTTPExchangeFailure: Error, Sendable {
    /// No complete answer within the per-request time limit (a slow drip included).
    case timedOut
    /// The body was, or was declared to be, larger than the limit.
    case tooLarge(limit: Int, declared: Int64?)
    /// The server answered with a redirect, which is refused so that the API key never
    /// travels to another address.
    case redirected(status: Int, location: String?)
    /// Connection refused, reset, DNS, TLS…: the transport's own message.
    case transport(String)
    case cancelled
}

/// A URLSession wrapper that enforces, per exchange, a wall-clock time limit on the
/// whole exchange (URLSession's `timeoutInterval` is an idle timeout, which a server
/// sending one byte per second never trips) and a byte limit on the body, counted as
/// the data arrives so that an oversized body is never buffered beyond the limit plus
/// one network chunk. A declared `Content-Length` over the limit is refused before any
/// of the body is read. Redirects are not followed.
///
/// On Linux this is swift-corelibs-foundation's libcurl-based URLSession. Its data
/// delegate is called per received chunk, so the byte limit is enforced while
/// streaming; one received chunk (at most 16 KiB from libcurl) is the slack.
final class BoundedHTTPClient: @unchecked Sendable {
    private let session: URLSession
    private let router: Router

    init(maxConnectionsPerHost: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, maxConnectionsPerHost)
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        router = Router()
        // The session retains the router (its delegate) until invalidated in deinit;
        // the router does not retain the session, so there is no cycle.
        session = URLSession(configuration: configuration, delegate: router, delegateQueue: queue)
    }

    deinit { session.invalidateAndCancel() }

    /// Sends `request` and returns the complete answer, or throws `HTTPExchangeFailure`.
    func send(_ request: URLRequest, timeout: Duration, maxBodyBytes: Int) async throws -> HTTPAnswer {
        var request = request
        let seconds = max(0.001, Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        request.timeoutInterval = seconds  // idle backstop; the exchange timer below is the real limit
        let exchange = Exchange(maxBodyBytes: maxBodyBytes)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPAnswer, any Error>) in
                let task = session.dataTask(with: request)
                let id = task.taskIdentifier
                let timer = DispatchWorkItem { [weak exchange] in exchange?.fail(.timedOut) }
                router.register(id, exchange)
                guard exchange.start(task: task, continuation: continuation, timer: timer,
                                     onFinish: { [router] in router.unregister(id) }) else {
                    router.unregister(id)
                    return
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
                task.resume()
            }
        } onCancel: {
            exchange.fail(.cancelled)
        }
    }

    /// The state of one exchange; every path ends in exactly one `finish`.
    final class Exchange: @unchecked Sendable {
        private let lock = NSLock()
        private let maxBodyBytes: Int
        private var task: URLSessionDataTask?
        private var continuation: CheckedContinuation<HTTPAnswer, any Error>?
        private var body: [UInt8] = []
        private var finished = false
        private var pendingFailure: HTTPExchangeFailure?
        private var timer: DispatchWorkItem?
        private var onFinish: (@Sendable () -> Void)?

        init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

        /// False (and the continuation already resumed) when the exchange was cancelled
        /// before it started.
        func start(task: URLSessionDataTask, continuation: CheckedContinuation<HTTPAnswer, any Error>,
                   timer: DispatchWorkItem, onFinish: @escaping @Sendable () -> Void) -> Bool {
            lock.lock()
            if let failure = pendingFailure {
                finished = true
                lock.unlock()
                continuation.resume(throwing: failure)
                return false
            }
            self.task = task
            self.continuation = continuation
            self.timer = timer
            self.onFinish = onFinish
            lock.unlock()
            return true
        }

        /// Ends the exchange now with `failure` and cancels the transfer.
        func fail(_ failure: HTTPExchangeFailure) {
            lock.lock()
            guard !finished else { lock.unlock(); return }
            guard continuation != nil else {
                // Not started yet: `start` will see this.
                if pendingFailure == nil { pendingFailure = failure }
                lock.unlock()
                return
            }
            let task = self.task
            lock.unlock()
            finish(.failure(failure))
            task?.cancel()
        }

        /// Whether the transfer may go on after the response head arrived.
        func received(response: URLResponse) -> Bool {
            let declared = response.expectedContentLength
            if declared > Int64(maxBodyBytes) {
                fail(.tooLarge(limit: maxBodyBytes, declared: declared))
                return false
            }
            if let http = response as? HTTPURLResponse, (300..<400).contains(http.statusCode) {
                fail(.redirected(status: http.statusCode, location: http.value(forHTTPHeaderField: "Location")))
                return false
            }
            return true
        }

        func received(data: Data) {
            lock.lock()
            guard !finished else { lock.unlock(); return }
            if body.count + data.count > maxBodyBytes {
                lock.unlock()
                fail(.tooLarge(limit: maxBodyBytes, declared: nil))
                return
            }
            body.append(contentsOf: data)
            lock.unlock()
        }

        func completed(response: URLResponse?, error: (any Error)?) {
            if let error {
                let nsError = error as NSError
                if nsError.domain == NSURLErrorDomain, nsError.code == NSURLErrorTimedOut {
                    finish(.failure(.timedOut))
                } else if nsError.domain == NSURLErrorDomain, nsError.code == NSURLErrorCancelled {
                    finish(.failure(.cancelled))
                } else {
                    finish(.failure(.transport(nsError.localizedDescription)))
                }
                return
            }
            guard let http = response as? HTTPURLResponse else {
                finish(.failure(.transport("the answer is not HTTP")))
                return
            }
            if (300..<400).contains(http.statusCode) {
                finish(.failure(.redirected(status: http.statusCode, location: http.value(forHTTPHeaderField: "Location"))))
                return
            }
            var headers: [String: String] = [:]
            for (key, value) in http.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            lock.lock()
            let body = self.body
            lock.unlock()
            finish(.success(HTTPAnswer(status: http.statusCode, headers: headers, body: body)))
        }

        private func finish(_ result: Result<HTTPAnswer, HTTPExchangeFailure>) {
            lock.lock()
            guard !finished, let continuation else { lock.unlock(); return }
            finished = true
            self.continuation = nil
            self.task = nil
            body = []
            let timer = self.timer, onFinish = self.onFinish
            self.timer = nil
            self.onFinish = nil
            lock.unlock()
            timer?.cancel()
            onFinish?()
            continuation.resume(with: result.mapError { $0 as any Error })
        }
    }

    /// The session delegate: routes callbacks to the exchange of their task.
    final class Router: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let lock = NSLock()
        private var exchanges: [Int: Exchange] = [:]

        func register(_ id: Int, _ exchange: Exchange) { lock.lock(); exchanges[id] = exchange; lock.unlock() }
        func unregister(_ id: Int) { lock.lock(); exchanges[id] = nil; lock.unlock() }
        private func exchange(_ id: Int) -> Exchange? { lock.lock(); defer { lock.unlock() }; return exchanges[id] }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            let goOn = exchange(dataTask.taskIdentifier)?.received(response: response) ?? false
            completionHandler(goOn ? .allow : .cancel)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            exchange(dataTask.taskIdentifier)?.received(data: data)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            exchange(task.taskIdentifier)?.completed(response: task.response, error: error)
        }
    }
}
