import CatalogIngest
import Foundation
import LookbookCore
import Testing
import TestSupport

/// Prints throughput figures (no timed assertions). Opt in with
/// `LOOKBOOK_INGEST_FIGURES=1 swift test --filter IngestFigures`; debug builds are
/// several times slower than release.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["LOOKBOOK_INGEST_FIGURES"] != nil,
                "set LOOKBOOK_INGEST_FIGURES=1 to print ingest figures"))
struct IngestFigures {
    @Test func productRowsPerSecond() throws {
        let dir = try TempDirectory()
        let n = 100_000
        var text = ""
        text.reserveCapacity(n * 300)
        for i in 0..<n {
            text += #"{"id":"p-\#(i)","title":"Slim fit stretch cotton shirt \#(i)","category":"Men > Clothing > Shirts > Casual Shirts","description":"A soft shirt with a button-down collar and a curved hem.","brand":"Acme","color":"navy","gender":"men","price":\#(i % 200).99,"in_stock":true,"url":"https://acme.example/p/\#(i)","attributes":{"material":"cotton","fit":"slim"},"updated_at":"2026-11-27T10:00:00Z"}"# + "\n"
        }
        let path = dir.path("products.jsonl.lz4")
        try CatalogWriter.writeBareFile(Array(text.utf8), to: path)
        let r = try CatalogReader.read(path: path)
        print("ingest figures: \(r.catalog.products.count) product rows (\(text.utf8.count >> 20) MiB) in \(String(format: "%.2f", r.stats.seconds)) s = \(Int(Double(n) / r.stats.seconds)) rows/s")
    }

    @Test func imageMegabytesPerSecond() throws {
        let dir = try TempDirectory()
        let path = dir.path("images.tar.lz4")
        let w = try ArchiveWriter(path: path, format: .tar, filter: .lz4)
        try w.addFile("catalog.json", data: try CatalogWriter.manifestJSON(CatalogFixtures.manifest))
        try w.addFile("products.jsonl", data: Array(CatalogFixtures.productLines(10).utf8))
        var rng = SystemRandomNumberGenerator()
        var body = [UInt8](repeating: 0, count: 400 << 10)
        for i in body.indices { body[i] = UInt8.random(in: 0...255, using: &rng) }
        let jpeg = ImageFixtures.jpegHeader(width: 800, height: 1000)
        for i in 0..<600 { try w.addFile("images/\(i).jpg", data: jpeg + body) }
        try w.close()
        let rssBefore = peakRSSMiB()
        let r = try CatalogReader.read(path: path)
        let mb = Double(r.stats.uncompressedBytes) / 1e6
        print("ingest figures: \(r.catalog.images.count) images, \(Int(mb)) MB in \(String(format: "%.2f", r.stats.seconds)) s = \(Int(mb / r.stats.seconds)) MB/s; peak RSS \(Int(rssBefore)) → \(Int(peakRSSMiB())) MiB")
    }
}

/// Peak resident set size of this process so far, MiB.
private func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
