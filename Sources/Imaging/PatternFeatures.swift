import Foundation

/// The surface pattern of a product, as far as pixels show it.
public enum PatternKind: String, Sendable, CaseIterable {
    case solid, striped, checked, dotted, floral
}

public enum PatternClassifier {
    public static func classify(_ r: LabRaster, mask: [UInt8], clusters: [ColorCluster]) -> PatternKind {
        .solid
    }
}
