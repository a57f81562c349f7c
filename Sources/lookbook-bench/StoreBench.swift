import ArgumentParser
import Foundation
import LookbookCore
import LookupStore
import SQLiteSupport

struct PublishBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Store rows published per second (target ≥ 300,000), against a bare SQLite insert of the same rows.")

    @Option(help: "Products in the store.") var products = 100_000
    @Option(help: "Target slots per product.") var slots = 5
    @Option(help: "Items per list.") var k = 20
    @Option(help: "Curated outfits.") var outfits = 10_000
    @Option(help: "Runs; the median is printed.") var runs = 3

    func run() throws {
        let content = StoreContent.synthetic(products: products, slotsPerProduct: slots, itemsPerList: k, outfits: outfits, seed: 7)
        let rows = content.counts.total
        let dir = try temporaryDirectory("publish")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var publishRates: [Double] = [], rawRates: [Double] = []
        for run in 0..<runs {
            let out = dir + "/out"
            let result = try StorePublisher().publish(content, to: out, keep: 1)
            publishRates.append(Double(rows) / result.seconds)
            let rawPath = dir + "/raw-\(run).sqlite"
            let raw = try seconds { try rawInsert(content, path: rawPath) }
            rawRates.append(Double(rows) / raw)
            try? FileManager.default.removeItem(atPath: rawPath)
            print("run \(run + 1): publish \(fmt(Double(rows) / result.seconds, 0)) rows/s (\(fmt(result.seconds, 2)) s, \(result.bytes >> 20) MiB); bare insert \(fmt(Double(rows) / raw, 0)) rows/s")
        }
        line("rows per store", "\(rows)")
        line("publish, median of \(runs)", "\(fmt(median(publishRates), 0)) rows/s (target ≥ 300,000)")
        line("reference: bare insert, no keys, median", "\(fmt(median(rawRates), 0)) rows/s")
        line("publish / bare insert", fmt(median(publishRates) / median(rawRates), 2))
        line("peak RSS", "\(fmt(peakRSSMiB(), 0)) MiB")
    }

    /// SQLite's floor for these rows: one transaction into rowid tables without keys,
    /// no integrity check, no compaction, no fsync.
    func rawInsert(_ c: StoreContent, path: String) throws {
        let db = try SQLiteDatabase(path)
        try db.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE p(a,b,c,d); CREATE TABLE c(a,b,c,d,e,f); CREATE TABLE f(a,b,c,d,e,f);")
        try db.transaction {
            let p = try db.prepare("INSERT INTO p VALUES (?,?,?,?)")
            for x in c.products { try p.bind([x.id, x.title, x.category, x.slot.rawValue]); try p.run() }
            let s = try db.prepare("INSERT INTO c VALUES (?,?,?,?,?,?)")
            for l in c.complementary {
                for (r, i) in l.items.enumerated() {
                    try s.bind([l.anchorID, l.targetSlot.rawValue, r + 1, i.productID, i.score, i.reason]); try s.run()
                }
            }
            let f = try db.prepare("INSERT INTO f VALUES (?,?,?,?,?,?)")
            for l in c.fitb {
                for (r, i) in l.items.enumerated() {
                    try f.bind([l.outfitID, l.position, r + 1, i.productID, i.score, i.reason]); try f.run()
                }
            }
        }
    }
}

struct LookupBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Storefront lookups through the reader API: a product's complementary lists (target p99 ≤ 50 µs).")

    @Option(help: "Products in the store.") var products = 100_000
    @Option(help: "Target slots per product.") var slots = 5
    @Option(help: "Items per list.") var k = 20
    @Option(help: "Random lookups per run.") var lookups = 100_000
    @Option(help: "Runs; medians are printed.") var runs = 3
    @Option(help: "Experiment: re-compact the published store with this page size before measuring.") var pageSize: Int?

    func run() throws {
        let dir = try temporaryDirectory("lookup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let content = StoreContent.synthetic(products: products, slotsPerProduct: slots, itemsPerList: k, outfits: 1000, seed: 11)
        var published = try StorePublisher().publish(content, to: dir, keep: 1)
        if let pageSize {
            let copy = dir + "/page-\(pageSize).sqlite"
            let db = try SQLiteDatabase(published.path, mode: .readWrite)
            try db.setPragma("page_size", pageSize)
            try db.execute("VACUUM INTO '\(copy)'")
            let check = try SQLiteDatabase(copy, mode: .readOnly)
            print("page size \(try check.pragmaInt("page_size"))")
            published.path = copy
            published.bytes = (try FileManager.default.attributesOfItem(atPath: copy)[.size] as? Int) ?? 0
        }
        let ids = content.products.map(\.id)
        var p50s: [Double] = [], p99s: [Double] = [], p999s: [Double] = [], refP99s: [Double] = []
        var cpuP50s: [Double] = [], cpuP99s: [Double] = [], refCPUP99s: [Double] = []
        for run in 0..<runs {
            let reader = try StoreReader(path: published.path)
            var rng = SplitMix64(seed: UInt64(100 + run))
            var samples = [Double](repeating: 0, count: lookups)
            var cpu = [Double](repeating: 0, count: lookups)
            var lists = 0, rows = 0
            for i in 0..<lookups {
                let id = ids[Int(rng.next() % UInt64(ids.count))]
                let c0 = threadCPUNanoseconds()
                let t0 = DispatchTime.now().uptimeNanoseconds
                let found = try reader.complementary(for: id)
                let t1 = DispatchTime.now().uptimeNanoseconds
                let c1 = threadCPUNanoseconds()
                lists += found.count
                rows += found.reduce(0) { $0 + $1.items.count }
                samples[i] = Double(t1 - t0) / 1000
                cpu[i] = Double(c1 - c0) / 1000
            }
            precondition(lists > 0, "the store has complementary lists")
            if run == 0 { print("per lookup: \(fmt(Double(lists) / Double(lookups), 2)) lists, \(fmt(Double(rows) / Double(lookups), 1)) items") }
            samples.sort()
            cpu.sort()
            // Reference: the cheapest point query SQLite can answer on the same file.
            let db = try SQLiteDatabase("file:\(published.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
            let st = try db.prepare("SELECT title FROM products WHERE id = ?")
            var ref = [Double](repeating: 0, count: lookups)
            var refCPU = [Double](repeating: 0, count: lookups)
            for i in 0..<lookups {
                let id = ids[Int(rng.next() % UInt64(ids.count))]
                let c0 = threadCPUNanoseconds()
                let t0 = DispatchTime.now().uptimeNanoseconds
                try st.bind(id, at: 1)
                _ = try st.step()
                _ = st.string(0)
                st.reset()
                ref[i] = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
                refCPU[i] = Double(threadCPUNanoseconds() - c0) / 1000
            }
            ref.sort()
            refCPU.sort()
            cpuP50s.append(percentile(cpu, 50)); cpuP99s.append(percentile(cpu, 99)); refCPUP99s.append(percentile(refCPU, 99))
            p50s.append(percentile(samples, 50)); p99s.append(percentile(samples, 99))
            p999s.append(percentile(samples, 99.9)); refP99s.append(percentile(ref, 99))
            print("run \(run + 1): p50 \(fmt(percentile(samples, 50), 2)) µs, p99 \(fmt(percentile(samples, 99), 2)) µs, p99.9 \(fmt(percentile(samples, 99.9), 2)) µs; reference point query p99 \(fmt(percentile(ref, 99), 2)) µs; CPU p50 \(fmt(percentile(cpu, 50), 2)) µs, p99 \(fmt(percentile(cpu, 99), 2)) µs")
        }
        line("store", "\(products) products × \(slots) slots × \(k) items, \(published.bytes >> 20) MiB")
        line("complementary(for:) p50, median of \(runs)", "\(fmt(median(p50s), 2)) µs")
        line("complementary(for:) p99, median of \(runs)", "\(fmt(median(p99s), 2)) µs (target ≤ 50 µs)")
        line("complementary(for:) p99.9, median of \(runs)", "\(fmt(median(p999s), 2)) µs")
        line("reference: one-row point query p99", "\(fmt(median(refP99s), 2)) µs")
        line("lookup p99 / point query p99", fmt(median(p99s) / median(refP99s), 1))
        line("thread CPU time p50 / p99, median", "\(fmt(median(cpuP50s), 2)) / \(fmt(median(cpuP99s), 2)) µs (reference p99 \(fmt(median(refCPUP99s), 2)) µs)")
    }
}

/// CPU time this thread has used: unlike wall time, it does not count the time the
/// scheduler gives other processes, so it isolates the lookup's own cost on a busy
/// machine (it includes the ~0.3 µs of the clock call itself).
func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
