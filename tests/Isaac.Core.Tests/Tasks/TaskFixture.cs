using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Tasks;

/// <summary>Task commands for the tests: tests/fixtures/task_runner.py behind a task manifest (docs/tasks.md).</summary>
internal static class TaskFixture
{
    /// <summary>
    /// Writes <c>&lt;home&gt;/commands/&lt;name&gt;</c>: a task woken by the runner in <paramref name="mode"/> (see the runner's
    /// docstring). <paramref name="runtime"/> adds lines to the manifest's runtime section; without a retry schedule
    /// the default (5 s, 15 s, 30 s) applies.
    /// </summary>
    public static void Add(string home, string mode, string name = "job", string runtime = "")
    {
        var folder = Path.Combine(home, "commands", name);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(Fixtures.RepoRoot, "tests", "fixtures", "task_runner.py"), Path.Combine(folder, "task_runner.py"));
        var extra = string.Join('\n', runtime.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => "  " + line));
        File.WriteAllText(Path.Combine(folder, "command.yaml"), $$"""
            version: "1.0"
            command:
              name: {{name}}
            runtime:
              mode: task
              wake_command: ["python3", "task_runner.py", "{{mode}}", "${TASK_ID}", "${RESULTS_DIR}", "${TASK_JSON}"]
              timeout_ms: 20000
            {{extra}}
            security:
              tier: 1
            """);
    }

    /// <summary>How many times the task <paramref name="id"/> of command <paramref name="name"/> was woken (the runner logs each wake).</summary>
    public static int Wakes(string home, string id, string name = "job") =>
        Path.Combine(home, "tasks", name, "wakes.log") is var log && File.Exists(log) ? File.ReadAllLines(log).Count(l => l == id) : 0;
}
