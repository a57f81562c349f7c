import ArgumentParser
import Foundation
import LookbookCore
import StyleModel

/// `lookbook`: the nightly job and the tools around it. The stable part of this
/// command line is in the README ("Command line"); every rule lives in the libraries.
@main
struct Lookbook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookbook",
        abstract: "Outfit recommendations, precomputed nightly into a read-only SQLite store.",
        subcommands: [RunCommand.self, QueryCommand.self, ExportCommand.self, InspectCommand.self, GenerateCommand.self,
                      ImportCommand.self, TrainCommand.self, TuneCommand.self, ModelsCommand.self, EvalCommand.self, CaptionCommand.self]
    )

    /// Exit codes of the stable CLI: 0 success, 1 failure, 2 usage error. Errors are one
    /// line on stderr that says what to fix.
    static func main() async {
        Allocator.tuneForModelWork()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as LookbookError {
            fail(error.description, code: error.code == .usage ? 2 : 1)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let exitCode = Self.exitCode(for: error)
            if exitCode == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if exitCode == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            fail(message(for: error), code: 1)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        let line = message.replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("lookbook: error: \(line)\n".utf8))
        Foundation.exit(code)
    }
}
