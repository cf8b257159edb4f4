using Isaac.Core.Manifests;

namespace Isaac.Core.Execution;

/// <summary>Finds programs the way a shell does, so a missing interpreter is reported by name before anything starts.</summary>
internal static class ExecutableLookup
{
    /// <summary>The full path of <paramref name="program"/> (a path, or a name searched on PATH), or null.</summary>
    public static string? Resolve(string program)
    {
        if (program.Contains('/'))
        {
            return IsExecutable(program) ? Path.GetFullPath(program) : null;
        }

        return PathDirectories()
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(IsExecutable);
    }

    /// <summary>
    /// Why <paramref name="interpreter"/> may not run handlers, or null when it may: a bare name (found on PATH at
    /// run time), or an absolute path directly inside a directory on PATH (docs/protocol.md, "Interpreters").
    /// </summary>
    public static string? RefuseInterpreter(string interpreter)
    {
        if (!interpreter.Contains('/'))
        {
            return null;
        }

        if (!Path.IsPathRooted(interpreter))
        {
            return $"interpreter '{interpreter}' is a relative path; name a program on PATH (for example python3) instead";
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(interpreter)) ?? "";
        return PathDirectories().Contains(folder, StringComparer.Ordinal)
            ? null
            : $"interpreter '{interpreter}' is not in a directory on PATH; name it by its bare name (for example python3), or put its folder on PATH";
    }

    /// <summary>Run-time twin of the load-time check: the handler must still resolve inside its folder (links may have changed).</summary>
    public static void EnsureHandlerInside(LoadedCommand command)
    {
        if (HandlerPath.Check(command.Directory, command.Manifest.Runtime.Handler) is { } problem)
        {
            throw HandlerException.Refused(command, problem.Message);
        }
    }

    public static bool IsExecutable(string file)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return OperatingSystem.IsWindows() || (File.GetUnixFileMode(file) & anyExecute) != 0;
    }

    // Only absolute entries: an empty or relative entry would search the working directory, which a request chooses.
    private static IEnumerable<string> PathDirectories() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Where(Path.IsPathRooted)
            .Select(dir => Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
}
