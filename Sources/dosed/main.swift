import DoseCore
import DoseFiles
import Foundation

// dosed's entry point stays tiny: parse the flags, build the daemon, run it.
exit(DosedMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
