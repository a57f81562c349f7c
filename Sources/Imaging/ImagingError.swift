/// A failure of an image codec, with the C library's own message kept.
///
/// The code says what the caller can do about it: `empty`, `unknownFormat`, `tooLarge`,
/// `truncated` and `unsupported` are facts about the file (report it and move on);
/// `decode` means the bytes are damaged; `codecUnavailable` is the machine, not the file.
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The codec could not be set up (out of memory, library failure).
        case codecUnavailable = "codec-unavailable"
        /// Encoding failed.
        case encode = "encode"
        /// The bytes are not a readable image of the expected format (corrupt data, a bad
        /// checksum, an impossible header).
        case decode = "decode"
        /// Zero bytes.
        case empty = "empty"
        /// The first bytes are not a JPEG, PNG or WebP signature, whatever the file is called.
        case unknownFormat = "unknown-format"
        /// The header declares more pixels than the caller's limit; nothing was allocated.
        case tooLarge = "too-large"
        /// The file ends before its image data does.
        case truncated = "truncated"
        /// A well-formed image the decoder does not handle (e.g. a colour space or a
        /// container feature it cannot convert).
        case unsupported = "unsupported"
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
