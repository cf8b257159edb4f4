using Isaac.Core.Manifests;

namespace Isaac.Cli;

internal static partial class Commands
{
    public static async Task<int> CheckHandlerAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return Usage($"'{Path.GetFullPath(path)}' does not exist; give a command folder or its command.yaml.", "check-handler");
        }

        var checks = await HandlerConformance.CheckAsync(path, cancellationToken);
        foreach (var check in checks)
        {
            Console.Out.WriteLine($"{(check.Passed ? "pass" : "FAIL")}  {check.Rule,-18} {check.Detail}");
            if (!check.Passed)
            {
                Console.Out.WriteLine($"      {"",-18} hint: {check.Hint}");
            }
        }

        var failed = checks.Count(c => !c.Passed);
        Console.Out.WriteLine(failed == 0 ? $"All {checks.Count} rules passed." : $"{failed} of {checks.Count} rules failed.");
        return failed == 0 ? 0 : 1;
    }
}
