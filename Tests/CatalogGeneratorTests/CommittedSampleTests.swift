import CatalogGenerator
import CatalogIngest
import Foundation
import LookbookCore
import Testing

/// `catalogs/sample-2026-11-28.tar.lz4` is what `SampleCatalogGenerator.Config.sample()`
/// generates. Archive bytes are not compared (compressors differ across libarchive
/// versions); the rows and image list are. Regenerate the file with
/// `lookbook generate` after changing the generator on purpose.
@Suite struct CommittedSampleTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("catalogs").appendingPathComponent(SampleCatalogGenerator.Config.sampleFileName).path

    static func read() throws -> IngestResult { try CatalogReader.read(path: path) }

    @Test func sampleIsSmallAndClean() throws {
        let size = try #require(try FileManager.default.attributesOfItem(atPath: Self.path)[.size] as? Int)
        #expect(size < 5 << 20)
        #expect(try Self.read().diagnostics == [])
    }

    @Test func sampleMatchesTheGenerator() throws {
        let expected = Fixtures.sample.catalog
        let actual = try Self.read().catalog
        #expect(actual.manifest == expected.manifest)
        // Ingest derives slots itself; they must agree with the truth, compared below.
        #expect(actual.products.map { var p = $0; p.slot = .other; return p }
                == expected.products.map { var p = $0; p.slot = .other; return p })
        #expect(actual.outfits == expected.outfits)
        #expect(actual.feedback == expected.feedback)
    }

    @Test func ingestFindsTheTrueSlots() throws {
        let truth = Fixtures.sample.truth
        let wrong = try Self.read().catalog.products.filter { truth[$0.id]?.slot != $0.slot }
        #expect(wrong.map { "\($0.id) \($0.category): \($0.slot)" } == [])
    }

    @Test func everyPhotoIsThereInItsFormat() throws {
        let images = try Self.read().catalog.images
        let truth = Fixtures.sample.truth.values.compactMap(\.image)
        #expect(images.count == truth.count)
        for t in truth {
            #expect(images[t.path]?.format == t.format, "\(t.path)")
            #expect(images[t.path]?.width == t.width, "\(t.path)")
        }
    }
}
