using System.Reflection;

namespace Isaac.Core.Tests.Support;

/// <summary>Paths of the fixtures this test project builds without referencing.</summary>
internal static class Fixtures
{
    public static string TestPlugin => Metadata("TestPlugin");
    public static string FuturePlugin => Metadata("FuturePlugin");
    public static string TestHandler => Metadata("TestHandler");
    public static string IsaacExe => Metadata("IsaacExe");
    public static string QueueDriver => Metadata("QueueDriver");
    public static string RepoRoot => Metadata("RepoRoot");

    /// <summary>Whether the process exists and is not a zombie (a killed orphan waits for PID 1 to reap it).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Metadata(string key) =>
        typeof(Fixtures).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
