/// A failure of an image codec, with the C library's own message kept.
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The codec could not be set up (out of memory, library failure).
        case codecUnavailable = "codec-unavailable"
        /// Encoding failed.
        case encode = "encode"
        /// The bytes are not a readable image of the expected format.
        case decode = "decode"
    }

    public var code: Code
    public var message: String
    /// The library and its message, e.g. `libturbojpeg: Not a JPEG file`.
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code; self.message = message; self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
