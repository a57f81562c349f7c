import Imaging
import LookbookCore

/// What the generator knows about a product and every later stage must rediscover
/// from its text and pixels: the captioner's and recommender's answer key.
public struct ProductTruth: Sendable, Equatable, Hashable, Codable {
    public var kind: GarmentKind
    public var slot: Slot
    /// The base colour: what `Product.color` names and what the body of the photo shows.
    public var color: NamedColor
    /// Stripes, check lines, dots or petals; `nil` for solid products.
    public var patternColor: NamedColor?
    public var pattern: Pattern
    public var material: Material
    public var style: Style
    /// As written in the product row; `nil` for the few products without one.
    public var gender: String?
    /// The primary photo, `nil` for products beyond `Config.imageCount`.
    public var image: ImageTruth?

    public var colorFamily: ColorFamily { color.family }

    public init(kind: GarmentKind, slot: Slot? = nil, color: NamedColor, patternColor: NamedColor? = nil,
                pattern: Pattern, material: Material, style: Style, gender: String?, image: ImageTruth? = nil) {
        self.kind = kind; self.slot = slot ?? kind.slot; self.color = color; self.patternColor = patternColor
        self.pattern = pattern; self.material = material; self.style = style; self.gender = gender
        self.image = image
    }
}

/// Where and how a product's photo was drawn.
public struct ImageTruth: Sendable, Equatable, Hashable, Codable {
    public var path: String
    public var format: ImageRecord.Format
    public var width: Int
    public var height: Int
    /// Alpha 0 outside the garment (PNG only).
    public var transparentBackground: Bool
    /// The studio backdrop colour (under alpha 0 when transparent).
    public var background: RGBA
    /// A pixel whose 5×5 neighbourhood shows the base colour: read it back (averaged)
    /// and it matches `ProductTruth.color.rgb` up to noise and compression.
    public var probeX: Int
    public var probeY: Int
    /// Everything needed to redraw the photo (`GarmentRenderer.render`).
    public var spec: ImageSpec
}

/// A generated catalog snapshot: the catalog as values, the image files, and the truth.
public struct GeneratedCatalog: Sendable, Equatable {
    public var config: SampleCatalogGenerator.Config
    /// `catalog.images` is left empty: content hashes are ingest's business. Product
    /// slots are set from the truth (ingest re-derives them from category and title).
    public var catalog: Catalog
    /// Image files by path inside the catalog (`images/P000001.jpg`); empty when
    /// generated with `renderImages: false`.
    public var images: [String: [UInt8]]
    /// By product id.
    public var truth: [String: ProductTruth]
    /// Style of each curated outfit, by outfit id (see `OutfitRules`).
    public var outfitStyles: [String: Style]
}
