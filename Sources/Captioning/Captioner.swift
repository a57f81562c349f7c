import LookbookCore

/// What a captioner gets for one product: its text and, when it has one, the bytes of
/// its primary image. With `imageOnly` the text fields are blanked by the caller, so
/// attributes come from pixels alone (`lookbook caption --image-only`).
public struct CaptionRequest: Sendable {
    public var product: Product
    /// The primary image's bytes (JPEG, PNG or WebP), if any.
    public var image: [UInt8]?
    /// Lower-case hex SHA-256 of `image`: the cache key with the captioner id.
    public var imageSHA256: String?
    public var imageOnly: Bool

    public init(product: Product, image: [UInt8]? = nil, imageSHA256: String? = nil, imageOnly: Bool = false) {
        self.product = product; self.image = image; self.imageSHA256 = imageSHA256; self.imageOnly = imageOnly
    }
}

/// Why an image could not be captioned; the run reports it and goes on.
public struct CaptionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Turns a product (image and text) into a style caption.
///
/// Implementations are values that can be shared across tasks; a remote captioner
/// bounds its own concurrency. `id` (`NAME@VERSION`) keys the caption cache: bump the
/// version whenever output for the same input may change.
public protocol Captioner: Sendable {
    var id: String { get }
    func caption(_ request: CaptionRequest) async throws -> Caption
}
