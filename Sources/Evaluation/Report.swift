import Foundation
import LookbookCore

/// `lookbook eval report`: every model variant against every metric, with 95 %
/// bootstrap intervals, as a Markdown table and a hand-written SVG bar chart, plus
/// the commands and seeds that produced the numbers.
public struct EvalReport: Codable, Sendable, Equatable {
    public var title: String
    public var results: [EvalResult]
    /// How the numbers were produced: commands, seeds, data.
    public var provenance: [String]

    public init(title: String = "Lookbook evaluation", results: [EvalResult], provenance: [String] = []) {
        self.title = title; self.results = results; self.provenance = provenance
    }

    /// Metric columns in a fixed order, then any others in order of appearance.
    public var metricNames: [String] {
        var names: [String] = []
        for r in results { for m in r.metrics where !names.contains(m.name) { names.append(m.name) } }
        let preferred = [MetricName.fitbAccuracy, MetricName.auc, MetricName.recall(10), MetricName.mrr]
        return preferred.filter(names.contains) + names.filter { !preferred.contains($0) }
    }

    /// Model variants in order of first appearance.
    public var models: [String] {
        var out: [String] = []
        for r in results where !out.contains(r.model) { out.append(r.model) }
        return out
    }

    public func estimate(model: String, metric: String) -> MetricEstimate? {
        results.lazy.filter { $0.model == model }.compactMap { $0.metric(metric) }.first
    }

    static func format(_ v: Double, _ metric: String) -> String {
        guard v.isFinite else { return "–" }
        return metric == MetricName.auc || metric == MetricName.mrr ? String(format: "%.3f", v) : String(format: "%.1f %%", v * 100)
    }

    public func markdown() -> String {
        let metrics = metricNames
        var s = "# \(title)\n\n"
        s += "| model | " + metrics.joined(separator: " | ") + " |\n"
        s += "|---|" + metrics.map { _ in "---|" }.joined() + "\n"
        for model in models {
            s += "| \(model) |"
            for m in metrics {
                if let e = estimate(model: model, metric: m) {
                    s += " \(Self.format(e.value, m)) [\(Self.format(e.low, m)), \(Self.format(e.high, m))] |"
                } else {
                    s += " |"
                }
            }
            s += "\n"
        }
        s += "\nValues with 95 % bootstrap confidence intervals over questions"
        let counts = Dictionary(results.map { ($0.task, $0.metrics.first?.count ?? 0) }, uniquingKeysWith: max)
        let described = EvalTask.allCases.compactMap { t in counts[t].map { "\($0) \(t.rawValue)" } }
        if !described.isEmpty { s += " (\(described.joined(separator: ", ")) questions)" }
        let notes = questionNotes()
        s += notes.isEmpty ? ".\n" : ". " + notes + "\n"
        if !provenance.isEmpty {
            s += "\n## How these numbers were produced\n\n"
            for p in provenance { s += "- `\(p)`\n" }
        }
        let commands = Set(results.compactMap(\.command))
        if !commands.isEmpty {
            s += "\n## Runs\n\n"
            for c in commands.sorted() { s += "- `\(c)`\n" }
        }
        return s
    }

    /// What the questions of each task in the report were, from what the results recorded:
    /// FITB candidates and chance, where negatives and fake outfits came from
    /// (`split.json`), said only when every run of the task agrees.
    func questionNotes() -> String {
        func agreed<T: Equatable>(_ task: EvalTask, _ value: (EvalResult) -> T?) -> T? {
            let values = results.filter { $0.task == task }.map(value)
            guard let first = values.first, let v = first, values.allSatisfy({ $0 == v }) else { return nil }
            return v
        }
        func source(_ pool: QuestionMaker.NegativePool?) -> String? {
            switch pool {
            case .category: "the answer's category"
            case .any: "any category"
            case nil: nil
            }
        }
        var fitb = "FITB: accuracy of the top-scored candidate"
        if let k = agreed(.fitb, \.candidates), k > 0 {
            fitb += String(format: ", %d candidates (chance %.0f %%)", k, 100 / Double(k))
        }
        if let from = source(agreed(.fitb, \.negativePool)) { fitb += ", negatives from \(from)" }
        fitb += ", ties share credit."
        var compat = "Compatibility: ROC AUC, real vs. fake outfits"
        switch agreed(.compat, \.negativePool) {
        case .category: compat += " that keep the real outfit's categories."
        case .any: compat += " of items from any category."
        case nil: compat += "."
        }
        let notes: [EvalTask: String] = [.fitb: fitb, .compat: compat, .retrieval: "Retrieval: pool = the answer's whole category."]
        let tasks = Set(results.map(\.task))
        return EvalTask.allCases.filter(tasks.contains).compactMap { notes[$0] }.joined(separator: " ")
    }

    /// One panel per metric, one bar per model with its interval as a whisker.
    public func svg() -> String {
        let metrics = metricNames, models = models
        let panelWidth = 60 + 46 * max(models.count, 1), panelHeight = 240
        let width = max(panelWidth * max(metrics.count, 1) + 20, 300)
        let legendHeight = 18 * models.count + 10
        let height = panelHeight + 70 + legendHeight
        let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">\(esc(title))</text>\n"
        for (p, metric) in metrics.enumerated() {
            let x0 = Double(10 + p * panelWidth), top = 40.0, plotH = Double(panelHeight - 40), base = top + plotH
            let maxValue = max(models.compactMap { estimate(model: $0, metric: metric)?.high }.filter(\.isFinite).max() ?? 1, 1e-9)
            let scale = metric == MetricName.auc ? 1.0 : min(1.0, (maxValue * 1.15 * 10).rounded(.up) / 10)
            s += "<text x=\"\(f(x0 + Double(panelWidth) / 2))\" y=\"34\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(metric))</text>\n"
            s += "<line x1=\"\(f(x0 + 40))\" y1=\"\(f(base))\" x2=\"\(f(x0 + Double(panelWidth) - 10))\" y2=\"\(f(base))\" stroke=\"#333\"/>\n"
            s += "<line x1=\"\(f(x0 + 40))\" y1=\"\(f(top))\" x2=\"\(f(x0 + 40))\" y2=\"\(f(base))\" stroke=\"#333\"/>\n"
            for tick in 0...4 {
                let v = scale * Double(tick) / 4, y = base - plotH * Double(tick) / 4
                s += "<text x=\"\(f(x0 + 36))\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#555\">\(Self.format(v, metric).replacingOccurrences(of: " %", with: "%"))</text>\n"
                if tick > 0 { s += "<line x1=\"\(f(x0 + 40))\" y1=\"\(f(y))\" x2=\"\(f(x0 + Double(panelWidth) - 10))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>\n" }
            }
            for (i, model) in models.enumerated() {
                guard let e = estimate(model: model, metric: metric), e.value.isFinite else { continue }
                let bx = x0 + 48 + Double(i) * 46, bw = 34.0
                func y(_ v: Double) -> Double { base - plotH * min(max(v / scale, 0), 1) }
                s += "<rect x=\"\(f(bx))\" y=\"\(f(y(e.value)))\" width=\"\(f(bw))\" height=\"\(f(base - y(e.value)))\" fill=\"\(palette[i % palette.count])\"><title>\(esc(model)): \(Self.format(e.value, metric)) [\(Self.format(e.low, metric)), \(Self.format(e.high, metric))]</title></rect>\n"
                let cx = bx + bw / 2
                s += "<line x1=\"\(f(cx))\" y1=\"\(f(y(e.low)))\" x2=\"\(f(cx))\" y2=\"\(f(y(e.high)))\" stroke=\"black\"/>\n"
                s += "<line x1=\"\(f(cx - 6))\" y1=\"\(f(y(e.low)))\" x2=\"\(f(cx + 6))\" y2=\"\(f(y(e.low)))\" stroke=\"black\"/>\n"
                s += "<line x1=\"\(f(cx - 6))\" y1=\"\(f(y(e.high)))\" x2=\"\(f(cx + 6))\" y2=\"\(f(y(e.high)))\" stroke=\"black\"/>\n"
                s += "<text x=\"\(f(cx))\" y=\"\(f(base + 14))\" text-anchor=\"middle\" font-size=\"9\">\(Self.format(e.value, metric).replacingOccurrences(of: " %", with: "%"))</text>\n"
            }
        }
        for (i, model) in models.enumerated() {
            let y = panelHeight + 40 + 18 * i
            s += "<rect x=\"12\" y=\"\(y)\" width=\"12\" height=\"12\" fill=\"\(palette[i % palette.count])\"/>"
            s += "<text x=\"30\" y=\"\(y + 10)\">\(esc(model))</text>\n"
        }
        s += "<text x=\"10\" y=\"\(height - 8)\" fill=\"#555\">Bars: value; whiskers: 95 % bootstrap interval over questions.</text>\n"
        s += "</svg>\n"
        return s
    }

    /// Writes `report.md`, `report.svg` and `report.json` (the results, for merging
    /// later runs) into `directory`.
    public func write(to directory: String) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let base = URL(fileURLWithPath: directory)
            var md = markdown()
            md += "\n![chart](report.svg)\n"
            try Data(md.utf8).write(to: base.appendingPathComponent("report.md"), options: .atomic)
            try Data(svg().utf8).write(to: base.appendingPathComponent("report.svg"), options: .atomic)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            try encoder.encode(self).write(to: base.appendingPathComponent("report.json"), options: .atomic)
        } catch let e as LookbookError { throw e } catch {
            throw LookbookError(.io, "cannot write the report into \(directory)", underlying: error.localizedDescription)
        }
    }

    /// Reads `EvalResult`s or whole reports (`report.json`) and merges them, later files
    /// replacing the same model and task.
    public static func merge(jsonFiles: [String], title: String = "Lookbook evaluation") throws -> EvalReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var results: [EvalResult] = [], provenance: [String] = []
        for path in jsonFiles {
            let data = try Data(contentsOfPath: path)
            if let r = try? decoder.decode(EvalReport.self, from: data) {
                results += r.results; provenance += r.provenance
            } else if let r = try? decoder.decode(EvalResult.self, from: data) {
                results.append(r)
            } else if let rs = try? decoder.decode([EvalResult].self, from: data) {
                results += rs
            } else {
                throw LookbookError(.usage, "\(path) is neither an evaluation result nor a report.json: give files written by lookbook eval")
            }
        }
        var merged: [EvalResult] = []
        for r in results {
            if let i = merged.firstIndex(where: { $0.model == r.model && $0.task == r.task }) { merged[i] = r } else { merged.append(r) }
        }
        var seen = Set<String>()
        return EvalReport(title: title, results: merged, provenance: provenance.filter { seen.insert($0).inserted })
    }
}
