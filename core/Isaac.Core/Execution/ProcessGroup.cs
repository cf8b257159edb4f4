using System.Runtime.InteropServices;

namespace Isaac.Core.Execution;

/// <summary>
/// Starts handlers as leaders of their own process group (through <c>setsid</c>) so that the whole group can be
/// killed at once. Killing a tree by walking /proc races with a handler that forks at that moment; a group
/// cannot be escaped that way.
/// </summary>
internal static partial class ProcessGroup
{
    private const int Sigkill = 9;

    private static readonly string? _setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    /// <summary>Whether handlers get their own group; without <c>setsid</c> Isaac falls back to killing the process tree.</summary>
    public static bool IsSupported => _setsid is not null;

    /// <summary>The program and arguments that run <paramref name="program"/> as a new group leader.</summary>
    public static (string Program, IReadOnlyList<string> Arguments) Wrap(string program, IReadOnlyList<string> arguments) =>
        _setsid is { } setsid ? (setsid, [program, .. arguments]) : (program, arguments);

    /// <summary>Sends SIGKILL to every process in the group led by <paramref name="leader"/>; quiet if none is left.</summary>
    public static void Kill(int leader)
    {
        if (IsSupported && leader > 0)
        {
            _ = kill(-leader, Sigkill);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
