using System.Diagnostics;
using System.Reflection;

namespace Isaac.Core.Tests.Support;

/// <summary>Paths of the fixtures this test project builds without referencing.</summary>
internal static class Fixtures
{
    public static string TestPlugin => Metadata("TestPlugin");
    public static string TestHandler => Metadata("TestHandler");
    public static string IsaacExe => Metadata("IsaacExe");
    public static string RepoRoot => Metadata("RepoRoot");

    public static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Metadata(string key) =>
        typeof(Fixtures).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
