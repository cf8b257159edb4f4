using System.Runtime.InteropServices;
using System.Text;

namespace Isaac.Core.Execution;

/// <summary>
/// Finds and kills every process of one handler run on Linux, including those that left its process group.
/// </summary>
/// <remarks>
/// <para>
/// A handler starts (through <c>setsid</c>) as the leader of a new session and process group, with
/// <c>ISAAC_RUN=&lt;owner pid&gt;.&lt;owner start time&gt;.&lt;run&gt;</c> in its environment. A process belongs to
/// the run when any of these holds: it is in the leader's session (escaping that needs <c>setsid</c>), its
/// environment carries the run's marker (inherited across <c>setsid</c>, double forks and re-parenting to init;
/// escaping it needs a deliberately scrubbed environment), or its parent belongs to the run. Together they find
/// a child that called <c>setsid</c>, a double-forked orphan and a child that cleared its environment while its
/// parent lives; only a process that does all three at once (new session, scrubbed environment, parent gone)
/// escapes. docs/protocol.md ("Limits and containment") states this limit.
/// </para>
/// <para>
/// Why not a cgroup or a child subreaper: a cgroup v2 per handler would close that last gap, but an unprivileged
/// user rarely has a delegated, writable cgroup (never in the containers Isaac's CI runs in), so the scan would be
/// needed anyway. A subreaper only changes who the orphans' parent is; it does not tell which run an orphan
/// belongs to, and it would oblige Isaac to reap them with <c>waitpid</c>, which .NET's Process class cannot
/// share safely (it fails fast when another caller reaps a child it tracks). Orphans therefore go to init as usual
/// and are found by their marker and session.
/// </para>
/// <para>
/// Killing races with forking: a process may fork between the scan and its SIGKILL. The kill repeats until a scan
/// finds nothing new; a killed process cannot fork, so each round only has to catch the children born during the
/// previous one, and the rounds are bounded.
/// </para>
/// </remarks>
internal static partial class ProcessTree
{
    /// <summary>The environment variable that marks every process of a run.</summary>
    public const string MarkerVariable = "ISAAC_RUN";

    private const int Sigkill = 9;
    private const int ORdonly = 0;
    private const int OCloexec = 0x80000;
    private const int MaxRounds = 64;

    private static readonly byte[] _markerPrefix = Encoding.ASCII.GetBytes(MarkerVariable + "=");
    private static readonly string? _setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    /// <summary>Whether runs can be found by scanning /proc (Linux). Elsewhere only the process group is killed.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Directory.Exists("/proc/self");

    /// <summary>This process's identity in markers: pid and start time, so a reused pid is never taken for it.</summary>
    public static string Owner { get; } = $"{Environment.ProcessId}.{StartTime(Environment.ProcessId)}";

    /// <summary>The program and arguments that run <paramref name="program"/> as the leader of a new session.</summary>
    public static (string Program, IReadOnlyList<string> Arguments) Wrap(string program, IReadOnlyList<string> arguments) =>
        _setsid is { } setsid ? (setsid, [program, .. arguments]) : (program, arguments);

    /// <summary>
    /// SIGKILLs the process group of <paramref name="leader"/> (0: unknown) and every process that belongs to the run
    /// marked <paramref name="marker"/>, until none is left. Quiet about processes that are already gone.
    /// </summary>
    public static void Kill(string marker, int leader)
    {
        if (!IsSupported)
        {
            KillGroup(leader);
            return;
        }

        // Scan before the first kill: a child that cleared its environment is found through its parent, which
        // must still be alive then (once killed, the child would be re-parented to init and lose that link).
        var since = leader > 0 ? StartTime(leader) : 0;
        var signalled = new HashSet<int>();
        for (var round = 0; round < MaxRounds; round++)
        {
            var fresh = Members(marker, leader, since).Where(signalled.Add).ToList();
            foreach (var pid in fresh)
            {
                _ = kill(pid, Sigkill);
            }

            // The group too: one atomic signal for everything that stayed in it, even a child forked just now.
            KillGroup(leader);
            if (fresh.Count == 0)
            {
                return;
            }
        }
    }

    private static void KillGroup(int leader)
    {
        if (leader > 0 && _setsid is not null)
        {
            _ = kill(-leader, Sigkill);
        }
    }

    /// <summary>
    /// Markers of runs whose owner no longer exists (its pid is gone or now names another process): what a SIGKILLed
    /// Isaac left behind. Only the environments of this user's processes can be read, so only they are considered.
    /// </summary>
    public static IReadOnlyCollection<string> AbandonedRuns()
    {
        var abandoned = new HashSet<string>(StringComparer.Ordinal);
        if (!IsSupported)
        {
            return abandoned;
        }

        var buffer = new byte[16 * 1024];
        var owners = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var pid in Pids())
        {
            if (pid == Environment.ProcessId || MarkerOf(pid, ref buffer) is not { } marker)
            {
                continue;
            }

            var owner = marker[..Math.Max(0, marker.LastIndexOf('.'))];
            if (!owners.TryGetValue(owner, out var alive))
            {
                owners[owner] = alive = IsAlive(owner);
            }

            if (!alive)
            {
                abandoned.Add(marker);
            }
        }

        return abandoned;
    }

    // The live (not zombie) processes of the run: in the leader's session, carrying the marker, or children of those.
    private static HashSet<int> Members(string marker, int leader, long since)
    {
        var buffer = new byte[16 * 1024];
        var members = new HashSet<int>();
        var parents = new Dictionary<int, int>();
        foreach (var pid in Pids())
        {
            if (pid == Environment.ProcessId || Stat(pid, ref buffer) is not { } stat || stat.Zombie)
            {
                continue;
            }

            parents[pid] = stat.Parent;
            // A process that started before the run cannot belong to it: no need to read its environment.
            if ((leader > 0 && stat.Session == leader) || (stat.Start >= since && MarkerOf(pid, ref buffer) == marker))
            {
                members.Add(pid);
            }
        }

        // Children of members, to any depth (a child that cleared its environment while its parent lives).
        for (var grown = true; grown;)
        {
            grown = false;
            foreach (var (pid, parent) in parents)
            {
                if (members.Contains(parent) && members.Add(pid))
                {
                    grown = true;
                }
            }
        }

        return members;
    }

    private static bool IsAlive(string owner)
    {
        var parts = owner.Split('.');
        return parts.Length == 2 && int.TryParse(parts[0], out var pid) && long.TryParse(parts[1], out var start)
            && pid > 0 && StartTime(pid) == start;
    }

    private static IEnumerable<int> Pids()
    {
        foreach (var path in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(path.AsSpan()), out var pid))
            {
                yield return pid;
            }
        }
    }

    private static long StartTime(int pid)
    {
        var buffer = new byte[1024];
        return Stat(pid, ref buffer)?.Start ?? -1;
    }

    private readonly record struct ProcStat(int Parent, int Session, bool Zombie, long Start);

    // /proc/<pid>/stat: "pid (comm) state ppid pgrp session … starttime(22nd field) …"; comm may hold spaces and ')'.
    // Parsed in place: the scan reads every process's stat, and must stay cheap.
    private static ProcStat? Stat(int pid, ref byte[] buffer)
    {
        var length = ReadAll($"/proc/{pid}/stat", ref buffer);
        var close = length > 0 ? buffer.AsSpan(0, length).LastIndexOf((byte)')') : -1;
        if (close < 0 || close + 2 >= length)
        {
            return null;
        }

        // Fields after the command name, counted from 0: state, ppid, pgrp, session, … starttime at 19.
        var rest = buffer.AsSpan(close + 2, length - close - 2);
        return int.TryParse(Field(rest, 1), out var parent) && int.TryParse(Field(rest, 3), out var session)
            && long.TryParse(Field(rest, 19), out var start)
            ? new ProcStat(parent, session, Field(rest, 0) is [(byte)'Z' or (byte)'X'], start)
            : null;
    }

    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> fields, int index)
    {
        for (; index > 0; index--)
        {
            var space = fields.IndexOf((byte)' ');
            if (space < 0)
            {
                return [];
            }

            fields = fields[(space + 1)..];
        }

        var end = fields.IndexOf((byte)' ');
        return end < 0 ? fields : fields[..end];
    }

    // The value of ISAAC_RUN in /proc/<pid>/environ (the environment the process was started with), or null.
    private static string? MarkerOf(int pid, ref byte[] buffer)
    {
        var length = ReadAll($"/proc/{pid}/environ", ref buffer);
        var environ = buffer.AsSpan(0, Math.Max(0, length));
        while (!environ.IsEmpty)
        {
            var end = environ.IndexOf((byte)0);
            var entry = end < 0 ? environ : environ[..end];
            if (entry.StartsWith(_markerPrefix))
            {
                return Encoding.ASCII.GetString(entry[_markerPrefix.Length..]);
            }

            environ = end < 0 ? [] : environ[(end + 1)..];
        }

        return null;
    }

    // Raw open/read/close: most /proc files of other users are unreadable, and an exception per process would
    // make the start-up scan cost milliseconds. Returns the length read, or -1.
    private static unsafe int ReadAll(string path, ref byte[] buffer)
    {
        var fd = open(path, ORdonly | OCloexec);
        if (fd < 0)
        {
            return -1;
        }

        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                nint read;
                fixed (byte* start = &buffer[length])
                {
                    read = ReadBytes(fd, start, buffer.Length - length);
                }

                if (read <= 0)
                {
                    return read < 0 && length == 0 ? -1 : length;
                }

                length += (int)read;
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read")]
    private static unsafe partial nint ReadBytes(int fd, byte* buffer, nint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
