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

        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(IsExecutable);
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
}
