import ArgumentParser
import Foundation
import LookbookCore
import Logging
import Pipeline

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the nightly job: ingest the newest catalog snapshot, recompute, publish the store.")

    @Argument(help: "The job file (TOML), e.g. jobs/nightly.toml.")
    var job: String

    @Option(help: "A catalog or a folder of catalogs, instead of the job's inbox.")
    var catalog: String?

    @Option(help: "The state directory, instead of the job's.")
    var state: String?

    @Option(help: "The output directory for lookbook.sqlite, instead of the job's.")
    var out: String?

    @Option(help: "A model directory trained elsewhere, used as is.")
    var model: String?

    @Flag(help: "Plain log lines even on a terminal.")
    var noProgress = false

    func run() async throws {
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ p: String?) -> String? {
            p.map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: cwd).appendingPathComponent($0).standardizedFileURL.path }
        }
        let config = try JobConfig.load(path: job).applying(.init(
            catalog: absolute(catalog), state: absolute(state), out: absolute(out), model: absolute(model)))
        let console = Console(progressBar: !noProgress && isatty(STDERR_FILENO) == 1)
        let outcome = await NightlyRun(job: config, events: { console.handle($0) }).run()
        console.finish()
        let r = outcome.report
        switch r.status {
        case .succeeded, .unchanged:
            console.log(.info, r.message)
        case .failed:
            Lookbook.fail("run failed: \(r.message)" + (outcome.reportPath.map { " (report: \($0))" } ?? ""), code: 1)
        }
        if let p = outcome.reportPath { console.log(.info, "report: \(p)") }
    }
}

/// Renders run events: a progress bar on a terminal, swift-log lines otherwise.
final class Console: @unchecked Sendable {
    private let lock = NSLock()
    private let progressBar: Bool
    private var logger: Logger
    private var lastDraw = Date.distantPast
    private var barShown = false
    private var lastLoggedFraction: [String: Int] = [:]

    init(progressBar: Bool) {
        self.progressBar = progressBar
        var logger = Logger(label: "lookbook") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .info
        self.logger = logger
    }

    func log(_ level: Logger.Level, _ message: String) {
        lock.withLock {
            clearBar()
            logger.log(level: level, "\(message)")
        }
    }

    func handle(_ event: RunEvent) {
        switch event {
        case .stage(let s): log(.info, "stage \(s)")
        case .info(let m): log(.info, m)
        case .warning(let m): log(.warning, m)
        case .progress(let stage, let done, let total):
            guard total > 0 else { return }
            lock.withLock {
                let fraction = min(1, Double(done) / Double(total))
                if progressBar {
                    let now = Date()
                    guard now.timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
                    lastDraw = now
                    let width = 30, filled = Int(fraction * Double(width))
                    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                    FileHandle.standardError.write(Data("\r\(stage.padding(toLength: 14, withPad: " ", startingAt: 0)) \(bar) \(Int(fraction * 100))%\u{1B}[K".utf8))
                    barShown = true
                } else {
                    // Plain logs: one line per quarter, so cron mail stays short.
                    let quarter = Int(fraction * 4)
                    if quarter > (lastLoggedFraction[stage] ?? -1) {
                        lastLoggedFraction[stage] = quarter
                        logger.info("\(stage): \(quarter * 25)%")
                    }
                }
            }
        }
    }

    func finish() { lock.withLock { clearBar() } }

    private func clearBar() {
        if barShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); barShown = false }
    }
}
