import Foundation
import LookbookCore
import StyleModel
import Testing
@testable import Pipeline

/// `PreferenceTuning.refresh`, the nightly round: the start model's own mistakes join
/// the catalog's pairs, a cap keeps every mistake and merchandiser pair, and the last word on the pairs is
/// the caller's.
@Test func aRefreshRoundLearnsFromTheStartModelsMistakesUnderTheCap() throws {
    let catalog = try ModelFixtures.catalog(products: 120, outfits: 40, feedback: true)
    let start = try ModelFixtures.model(catalog, epochs: 1)
    var options = PreferenceTuning.Options()
    options.mineOutfits = 12
    options.maxPairs = 60
    options.settings.training.epochs = 0.5
    nonisolated(unsafe) var seen: [PreferencePair] = []
    let round = try PreferenceTuning.refresh(from: start, products: catalog.products, outfits: catalog.outfits,
                                             feedback: catalog.feedback, options: options) { pairs in
        seen = pairs
        return ModelFixtures.swapped(pairs)
    }
    let counts = Dictionary(uniqueKeysWithValues: PreferencePairs.counts(seen).map { ($0.0, $0.1) })
    #expect(counts[.mistake, default: 0] > 0, "\(counts)")
    #expect(seen.count == 60)
    // The merchandisers' pairs are kept whole too; the curated pairs fill the rest.
    let pool = PreferencePairs.Pool(OutfitCorpus(products: catalog.products, outfits: catalog.outfits, format: start.itemFormat).items)
    let own = PreferenceTuning.catalogPairs(products: catalog.products, outfits: catalog.outfits, feedback: catalog.feedback,
                                            pool: pool, options: options, round: 1, format: start.itemFormat).pairs
    let merchandiser = own.filter { $0.source == .merchandiser }
    #expect(!merchandiser.isEmpty && own.count > 60)
    #expect(Set(seen.filter { $0.source == .merchandiser }) == Set(merchandiser))
    #expect(round.pairs == ModelFixtures.swapped(seen))
    #expect(round.miningSeconds > 0)
    #expect(round.model.metadata["parent"] == start.version)
    #expect(round.model.version.hasPrefix("stylelm-dpo-") && round.model.version != start.version)
    #expect(round.report.summary.training.steps > 0)
    // Every mistake is one the start model makes: a candidate it scores above the real item.
    let scoring = try start.scoring()
    for pair in seen.filter({ $0.source == .mistake }).prefix(5) {
        let s = scoring.scores(context: pair.context, slot: pair.slot, candidates: [pair.chosen, pair.rejected])
        #expect(s[1] > s[0])
    }
}
