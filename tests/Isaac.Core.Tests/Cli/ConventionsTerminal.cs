using CliWrap.Builders;

namespace Isaac.Core.Tests.Cli;

/// <summary>
/// Starts a child in a real terminal as a person would have it: without the automation markers that make Isaac
/// non-interactive (CI, GITHUB_ACTIONS, GITLAB_CI, JENKINS_HOME, CLAUDE_*), whatever the test runner has set.
/// </summary>
internal static class ConventionsTerminal
{
    private static IEnumerable<string> Markers() =>
        ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_HOME",
            .. Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(name => name.StartsWith("CLAUDE_", StringComparison.Ordinal))];

    /// <summary>An <c>env</c> prefix for a shell command line (tmux) that unsets every marker.</summary>
    public static string WithoutMarkers => "env " + string.Join(' ', Markers().Select(name => $"-u {name}"));

    /// <summary>Removes every marker from a CliWrap child's environment.</summary>
    public static EnvironmentVariablesBuilder Unmarked(EnvironmentVariablesBuilder environment)
    {
        foreach (var name in Markers())
        {
            environment.Set(name, null);
        }

        return environment;
    }
}
