import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A real HTTP/1.1 server on 127.0.0.1 for tests of network clients, written on POSIX
/// sockets so it needs no package.
///
/// It listens on an ephemeral port (`port`, `baseURL`), accepts on a background thread,
/// and serves each connection on its own thread: it reads one request (headers, then a
/// `Content-Length` or chunked body; `Expect: 100-continue` is answered), asks the
/// handler for a scripted `Response`, sends it with `Connection: close`, and closes.
/// A response can wait before its head, drip its body byte by byte, lie about or omit
/// its length, or close early. Every wait wakes up on `stop()`, which closes all
/// sockets and joins every thread; call it (or let the server go) at the end of a test.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// A request as received. Header names are lower-cased.
    public struct Request: Sendable {
        public var method: String
        public var target: String
        public var headers: [String: String]
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// What to send back, and how.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Seconds to wait before sending anything (the status line included).
        public var delayBeforeHead: Double = 0
        /// Seconds between body bytes: a slow drip. Nil sends the body at once.
        public var dripInterval: Double?
        /// Sends only this many body bytes, then closes the connection.
        public var closeAfterBodyBytes: Int?
        /// Sends only this many body bytes, then keeps the connection open, silent,
        /// until the server stops.
        public var stallAfterBodyBytes: Int?
        /// Whether to send `Content-Length` (else the body ends when the connection closes).
        public var sendContentLength = true

        public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [],
                    delayBeforeHead: Double = 0, dripInterval: Double? = nil,
                    closeAfterBodyBytes: Int? = nil, stallAfterBodyBytes: Int? = nil, sendContentLength: Bool = true) {
            self.status = status; self.headers = headers; self.body = body
            self.delayBeforeHead = delayBeforeHead; self.dripInterval = dripInterval
            self.closeAfterBodyBytes = closeAfterBodyBytes; self.stallAfterBodyBytes = stallAfterBodyBytes
            self.sendContentLength = sendContentLength
        }

        /// A JSON (or any text) body with `Content-Type: application/json`.
        public static func json(_ status: Int = 200, _ text: String, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
        }
    }

    /// Picks the response to the `index`-th request (0-based, in arrival order).
    public typealias Handler = @Sendable (_ index: Int, _ request: Request) -> Response

    public let port: UInt16
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let handler: Handler
    private let listenFD: Int32
    private let state = NSCondition()
    private let threads = DispatchGroup()
    private var stopping = false
    private var stopped = false
    private var received: [Request] = []
    private var inFlight = 0
    private var maxInFlightSeen = 0
    /// When each connection was accepted and when it ended (seen from the server's own
    /// threads, so a busy test process cannot blur it).
    private var connectionOpenedAt: [Date] = []
    private var connectionClosedAt: [Int: Date] = [:]
    private var openConnections: Set<Int32> = []

    /// Starts listening; `handler` answers every request.
    public init(handler: @escaping Handler) throws {
        self.handler = handler
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Self.posixError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let error = Self.posixError("bind/listen")
            close(fd)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let error = Self.posixError("getsockname")
            close(fd)
            throw error
        }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        threads.enter()
        let acceptor = Thread { [self] in
            acceptLoop()
            threads.leave()
        }
        acceptor.name = "LoopbackHTTPServer.accept"
        acceptor.start()
    }

    /// Answers requests from `script` in order; the last response repeats.
    public convenience init(script: [Response]) throws {
        precondition(!script.isEmpty, "a script needs at least one response")
        try self.init(handler: { index, _ in script[min(index, script.count - 1)] })
    }

    deinit { stop() }

    /// Requests received so far, in arrival order.
    public var requests: [Request] { state.lock(); defer { state.unlock() }; return received }
    public var requestCount: Int { requests.count }
    /// The most requests that were being answered at the same time.
    public var maxInFlight: Int { state.lock(); defer { state.unlock() }; return maxInFlightSeen }

    /// Stops accepting, wakes every waiting response, closes every socket and joins all
    /// threads. Idempotent.
    public func stop() {
        state.lock()
        if stopped { state.unlock(); return }
        stopped = true
        stopping = true
        for fd in openConnections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        state.broadcast()
        state.unlock()
        threads.wait()
        close(listenFD)
    }

    // MARK: Threads

    private var isStopping: Bool { state.lock(); defer { state.unlock() }; return stopping }

    private func acceptLoop() {
        while !isStopping {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else { continue }
            let connection = accept(listenFD, nil, nil)
            guard connection >= 0 else { continue }
            state.lock()
            if stopping {
                state.unlock()
                close(connection)
                break
            }
            openConnections.insert(connection)
            let connectionIndex = connectionOpenedAt.count
            connectionOpenedAt.append(Date())
            state.unlock()
            threads.enter()
            let worker = Thread { [self] in
                serve(connection)
                state.lock()
                openConnections.remove(connection)
                connectionClosedAt[connectionIndex] = Date()
                state.unlock()
                close(connection)
                threads.leave()
            }
            worker.name = "LoopbackHTTPServer.connection"
            worker.start()
        }
    }

    /// Waits up to `seconds`; false when the server is stopping.
    private func pause(_ seconds: Double) -> Bool {
        let until = Date(timeIntervalSinceNow: seconds)
        state.lock()
        defer { state.unlock() }
        while !stopping {
            if !state.wait(until: until) { return !stopping }
        }
        return false
    }

    private func serve(_ fd: Int32) {
        var reader = Reader(fd: fd)
        guard let request = reader.readRequest(onExpectContinue: { _ in _ = self.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }) else { return }
        state.lock()
        let index = received.count
        received.append(request)
        inFlight += 1
        maxInFlightSeen = max(maxInFlightSeen, inFlight)
        state.unlock()
        let finished = respond(fd, handler(index, request))
        // Out of flight once the last byte is sent, before the client has even read it,
        // so the count never exceeds what the client has in flight.
        state.lock()
        inFlight -= 1
        state.unlock()
        guard finished else { return }
        _ = shutdown(fd, Int32(SHUT_WR))
        // Let the client read to the end before the socket closes.
        var scratch = [UInt8](repeating: 0, count: 256)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, 200) > 0 { _ = recv(fd, &scratch, scratch.count, 0) }
    }

    /// Seconds the longest-lived connection stayed open, from accept to close: the
    /// server closes when it has answered, or when the client hung up first (how a
    /// test proves a client gave up at its own limit rather than waiting for a slow
    /// answer). 0 when no client ever connected (it gave up before connecting); nil
    /// when a connection is still open after `wait` seconds.
    public func longestConnectionSeconds(wait: Double = 30) -> Double? {
        let until = Date(timeIntervalSinceNow: wait)
        while true {
            state.lock()
            let opened = connectionOpenedAt, closed = connectionClosedAt
            state.unlock()
            if closed.count == opened.count {
                return opened.indices.map { closed[$0]!.timeIntervalSince(opened[$0]) }.max() ?? 0
            }
            if Date() > until { return nil }
            usleep(10_000)
        }
    }

    /// Waits up to `seconds` while watching the client: false when the server is
    /// stopping or the client hung up.
    private func pause(_ seconds: Double, watching fd: Int32) -> Bool {
        let until = Date(timeIntervalSinceNow: seconds)
        while Date() < until {
            state.lock()
            let stop = stopping
            state.unlock()
            if stop { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(1, min(20, until.timeIntervalSinceNow * 1000)))
            if poll(&pfd, 1, wait) > 0 {
                var byte: UInt8 = 0
                let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if n == 0 || (pfd.revents & Int16(POLLHUP | POLLERR)) != 0 { return false }
                if n > 0 { _ = recv(fd, &byte, 1, 0) }  // stray bytes: drop them
            }
        }
        return true
    }

    /// Sends `response`; false when the server stopped or the client went away first.
    private func respond(_ fd: Int32, _ response: Response) -> Bool {
        func pause(_ seconds: Double) -> Bool { self.pause(seconds, watching: fd) }
        if response.delayBeforeHead > 0, !pause(response.delayBeforeHead) { return false }

        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if response.sendContentLength { head += "Content-Length: \(response.body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        guard sendAll(fd, Array(head.utf8)) else { return false }

        var body = response.body[...]
        if let limit = response.closeAfterBodyBytes { body = body.prefix(limit) }
        if let stall = response.stallAfterBodyBytes {
            guard sendAll(fd, Array(body.prefix(stall))) else { return false }
            while pause(3600) {}
            return false
        }
        if let interval = response.dripInterval {
            for byte in body {
                guard sendAll(fd, [byte]), pause(interval) else { return false }
            }
            return true
        }
        return sendAll(fd, Array(body))
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { buffer in
                #if os(Linux)
                send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                #else
                send(fd, buffer.baseAddress, buffer.count, 0)
                #endif
            }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Reads one request from a connection.
    private struct Reader {
        let fd: Int32
        var buffer: [UInt8] = []
        static let maxHead = 64 * 1024
        static let maxBody = 64 << 20

        /// Reads more bytes; false at end of stream or on error.
        mutating func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = recv(fd, &chunk, chunk.count, 0)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
        }

        mutating func readLine() -> String? {
            while true {
                if let i = findCRLF() {
                    let line = String(decoding: buffer[0..<i], as: UTF8.self)
                    buffer.removeFirst(i + 2)
                    return line
                }
                guard buffer.count < Self.maxHead, fill() else { return nil }
            }
        }

        mutating func readBytes(_ count: Int) -> [UInt8]? {
            while buffer.count < count { guard fill() else { return nil } }
            let bytes = Array(buffer[0..<count])
            buffer.removeFirst(count)
            return bytes
        }

        private func findCRLF() -> Int? {
            guard buffer.count >= 2 else { return nil }
            for i in 0..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            return nil
        }

        mutating func readRequest(onExpectContinue: (Int32) -> Void) -> Request? {
            guard let requestLine = readLine() else { return nil }
            let parts = requestLine.split(separator: " ")
            guard parts.count >= 2 else { return nil }
            var headers: [String: String] = [:]
            while let line = readLine() {
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headers[name] = headers[name].map { "\($0), \(value)" } ?? value
            }
            if headers["expect"]?.lowercased() == "100-continue" { onExpectContinue(fd) }
            var body: [UInt8] = []
            if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                while let sizeLine = readLine(), let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) {
                    if size == 0 { _ = readLine(); break }
                    guard body.count + size <= Self.maxBody, let chunk = readBytes(size) else { return nil }
                    body += chunk
                    _ = readLine()
                }
            } else if let length = headers["content-length"].flatMap({ Int($0) }), length > 0 {
                guard length <= Self.maxBody, let bytes = readBytes(length) else { return nil }
                body = bytes
            }
            return Request(method: String(parts[0]), target: String(parts[1]), headers: headers, body: body)
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }

    private static func posixError(_ call: String) -> NSError {
        let code = errno
        return NSError(domain: NSPOSIXErrorDomain, code: Int(code),
                       userInfo: [NSLocalizedDescriptionKey: "\(call): \(String(cString: strerror(code)))"])
    }
}
