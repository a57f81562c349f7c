import CatalogGenerator
import Foundation
import LookbookCore
import Recommender
import StyleModel
import Testing

/// PPMI-SVD's version promises its vectors: the same version, the same bits. A StyleLM
/// scoring on another thread holds OpenBLAS at one thread process-wide (`BLASThreads`),
/// and on the sample catalog an SVD whose products ran on two threads came out different
/// in the last bits, so the nightly reranker's version changed between two runs and the
/// second recomputed every list (seen in `merchandiserVerdictsMoveItemsInTheNextRunsLists`
/// while other tests scored). Its products now run on one thread always.
@Test func ppmiSVDVectorsDoNotDependOnTheBLASThreadCountOfTheMoment() throws {
    var config = SampleCatalogGenerator.Config.sample()
    config.imageCount = 0
    let catalog = try SampleCatalogGenerator(config: config, workers: 1).generate(renderImages: false).catalog
    let plain = PPMISVDModel.train(products: catalog.products, outfits: catalog.outfits)
    let whileScoring = BLASThreads.single { PPMISVDModel.train(products: catalog.products, outfits: catalog.outfits) }
    #expect(plain.version == whileScoring.version)
    #expect(plain.singularValues == whileScoring.singularValues)
    #expect(catalog.products.map { plain.vectors(of: $0, caption: nil) } == catalog.products.map { whileScoring.vectors(of: $0, caption: nil) })
}
