import Imaging
import Testing

/// A white-backdrop photo with a red upper half and a blue lower half of a 60×80 product.
private func twoToneProduct() -> RGBAImage {
    var img = RGBAImage(width: 112, height: 112, fill: RGBA(255, 255, 255))
    for y in 16..<96 { for x in 26..<86 { img[x, y] = y < 56 ? RGBA(200, 30, 40) : RGBA(30, 50, 170) } }
    return img
}

private func clustersOf(_ img: RGBAImage) -> [ColorCluster] {
    let r = LabRaster(img)
    return DominantColors.clusters(r, mask: BackgroundSeparation.separate(r).mask)
}

/// Share of a layout in the upper three rows of the grid.
private func upperShare(_ c: ColorCluster) -> Double {
    let side = ColorCluster.layoutSide
    let total = c.layout.reduce(0, +)
    return c.layout.prefix(side * side / 2).reduce(0, +) / total
}

@Test func clusterLayoutsSayWhereEachColourLies() throws {
    let clusters = clustersOf(twoToneProduct())
    #expect(clusters.count == 2)
    let red = try #require(clusters.first { $0.center.a > 40 })
    let blue = try #require(clusters.first { $0.center.b < -40 })
    #expect(red.layout.count == ColorCluster.layoutSide * ColorCluster.layoutSide)
    #expect(upperShare(red) > 0.95)
    #expect(upperShare(blue) < 0.05)
}

@Test func clusterLayoutsAddUpToTheSampledForeground() {
    let total = clustersOf(twoToneProduct()).reduce(0) { $0 + $1.layout.reduce(0, +) }
    #expect(abs(total - 1) < 1e-9)
}
