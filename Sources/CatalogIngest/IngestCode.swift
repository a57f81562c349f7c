/// The stable `Diagnostic.code`s that ingest reports. Scripts and the quarantine report
/// key on them; add codes, never rename them.
public enum IngestCode {
    // Entries of the archive or directory
    /// `../`, an absolute path, a link, a device, a FIFO or a socket: rejected, never read.
    public static let unsafeEntry = "unsafe-entry"
    /// A file that is not part of the catalog format (or outside the catalog root).
    public static let ignoredFile = "ignored-file"
    /// A second products/outfits/feedback file or manifest: only the first is read.
    public static let duplicateFile = "duplicate-file"

    // Rows
    public static let invalidUTF8 = "invalid-utf8"
    public static let invalidJSON = "invalid-json"
    /// A CSV record that breaks RFC 4180 quoting or has the wrong number of fields.
    public static let badCSV = "bad-csv"
    public static let missingField = "missing-field"
    public static let wrongType = "wrong-type"
    /// A value of the right type that is out of range (a negative price).
    public static let badValue = "bad-value"
    /// A product id that is not 1–128 characters of `A-Za-z0-9._:-`.
    public static let badID = "bad-id"
    /// A product or outfit id seen before; the first row is kept.
    public static let duplicateID = "duplicate-id"
    /// An outfit with fewer than two distinct items.
    public static let tooFewItems = "too-few-items"
    /// An outfit or feedback row naming a product that is not in the catalog.
    public static let unknownProduct = "unknown-product"
    public static let badVerdict = "bad-verdict"

    // Images (warnings: the product is kept without the image)
    /// An image file that is not a readable JPEG, PNG or WebP.
    public static let badImage = "bad-image"
    /// An image whose header declares more pixels than `max_image_pixels`.
    public static let imageTooLarge = "image-too-large"
    /// A product's image path that is not in the catalog.
    public static let missingImage = "missing-image"
    /// A product's image path whose file is in the catalog but unusable.
    public static let undecodableImage = "undecodable-image"

    /// The last diagnostic when more were raised than are kept; it gives the count.
    public static let moreDiagnostics = "more-diagnostics"
}
