using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Security;

/// <summary>Issue 9, finding 3: a handler must really lie inside its manifest folder, and an interpreter must be a known program.</summary>
public sealed class HandlerPathTests : IDisposable
{
    private const string Answer = """echo '{"status": "success", "stdout": "inside ran"}'""";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Executable(string relativePath, string body)
    {
        var file = _dir.Write(relativePath, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return file;
    }

    private string Manifest(string handler, string extraRuntime = "") =>
        _dir.Write("cmd/command.yaml", TestManifests.Yaml("cmd", handler, extraRuntime: extraRuntime));

    [Fact]
    public async Task A_handler_reached_through_a_symlinked_directory_outside_the_folder_is_refused()
    {
        // Arrange: cmd/sub -> outside/, so "sub/evil.sh" looks inside but is not.
        var marker = _dir.Combine("pwned");
        Executable("outside/evil.sh", $"touch '{marker}'");
        Directory.CreateDirectory(_dir.Combine("cmd"));
        Directory.CreateSymbolicLink(_dir.Combine("cmd", "sub"), _dir.Combine("outside"));
        var path = Manifest("sub/evil.sh");

        // Act
        var result = await new ManifestLoader().LoadAsync(path);

        // Assert
        Assert.Null(result.Command);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("handler-path", problem.Rule);
        Assert.Contains("is a link to", problem.Message);
        Assert.Contains(_dir.Combine("outside", "evil.sh"), problem.Message);
        Assert.Equal(10, problem.Line);
    }

    [Fact(Timeout = 30_000)]
    public async Task Isaac_validate_names_the_symlinked_directory_escape()
    {
        // Arrange
        Executable("outside/evil.sh", Answer);
        Directory.CreateDirectory(_dir.Combine("cmd"));
        Directory.CreateSymbolicLink(_dir.Combine("cmd", "sub"), _dir.Combine("outside"));
        var path = Manifest("sub/evil.sh");

        // Act
        var run = await IsaacProcess.RunAsync(_dir.Combine("home"), "validate", _dir.Combine("cmd"));

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{path}:10:", run.Stdout);
        Assert.Contains("handler-path: handler 'sub/evil.sh' is a link to", run.Stdout);
    }

    [Fact]
    public async Task A_handler_inside_a_symlinked_directory_that_stays_inside_is_accepted()
    {
        Executable("cmd/real/run.sh", Answer);
        Directory.CreateSymbolicLink(_dir.Combine("cmd", "alias"), "real");
        var path = Manifest("alias/run.sh");

        var command = await TestManifests.LoadAsync(path);

        Assert.Equal("cmd", command.Name);
    }

    [Fact]
    public async Task A_manifest_folder_that_is_itself_a_link_is_judged_by_its_real_path()
    {
        // Arrange: commands/cmd -> dotfiles/cmd, a common setup; its handler is inside the real folder.
        Executable("dotfiles/cmd/run.sh", Answer);
        _dir.Write("dotfiles/cmd/command.yaml", TestManifests.Yaml("cmd", "run.sh"));
        Directory.CreateDirectory(_dir.Combine("commands"));
        Directory.CreateSymbolicLink(_dir.Combine("commands", "cmd"), _dir.Combine("dotfiles", "cmd"));

        // Act
        var result = await new ManifestLoader().LoadAsync(_dir.Combine("commands", "cmd", "command.yaml"));

        // Assert
        Assert.NotNull(result.Command);
        Assert.Empty(result.Problems);
    }

    [Fact(Timeout = 15_000)]
    public async Task A_link_changed_after_load_is_refused_just_before_the_handler_starts()
    {
        // Arrange: load while sub/ is a real folder, then swap it for a link to outside/.
        var marker = _dir.Combine("pwned");
        Executable("cmd/sub/run.sh", Answer);
        Executable("outside/run.sh", $"touch '{marker}'\n{Answer}");
        var command = await TestManifests.LoadAsync(Manifest("sub/run.sh"));
        Directory.Delete(_dir.Combine("cmd", "sub"), recursive: true);
        Directory.CreateSymbolicLink(_dir.Combine("cmd", "sub"), _dir.Combine("outside"));

        // Act
        var ex = await Assert.ThrowsAsync<HandlerException>(() => new OutOfProcessRunner().RunAsync(command, Some.Request(command)));

        // Assert
        Assert.Equal(ErrorCode.HandlerFailed, ex.Failure);
        Assert.Contains("was not started", ex.Message);
        Assert.Contains("is a link to", ex.Message);
        Assert.False(File.Exists(marker), "the handler outside the folder ran");
    }

    [Fact(Timeout = 15_000)]
    public async Task A_handler_still_inside_at_run_time_runs()
    {
        Executable("cmd/sub/run.sh", Answer);
        var command = await TestManifests.LoadAsync(Manifest("sub/run.sh"));

        var response = await new OutOfProcessRunner().RunAsync(command, Some.Request(command));

        Assert.Equal("inside ran", response.Stdout);
    }

    [Fact]
    public async Task An_interpreter_given_as_an_arbitrary_absolute_path_is_refused()
    {
        // Arrange: an executable that is not in any directory on PATH.
        var rogue = Executable("elsewhere/python3", "exec python3 \"$@\"");
        _dir.Write("cmd/run.py", "print('{}')\n");
        var path = Manifest("run.py", extraRuntime: $"  interpreter: {rogue}");

        // Act
        var result = await new ManifestLoader().LoadAsync(path);

        // Assert
        Assert.Null(result.Command);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("interpreter", problem.Rule);
        Assert.Contains($"interpreter '{rogue}' is not in a directory on PATH", problem.Message);
        Assert.Equal(path, problem.File);
        Assert.Equal(12, problem.Line);
    }

    [Fact]
    public async Task A_relative_interpreter_path_is_refused()
    {
        _dir.Write("cmd/run.py", "print('{}')\n");
        var path = Manifest("run.py", extraRuntime: "  interpreter: ./venv/bin/python3");

        var result = await new ManifestLoader().LoadAsync(path);

        Assert.Null(result.Command);
        Assert.Contains("is a relative path", Assert.Single(result.Problems).Message);
    }

    [Fact]
    public async Task An_interpreter_named_by_bare_name_or_by_its_path_on_PATH_is_accepted()
    {
        // Arrange
        _dir.Write("cmd/run.sh", "echo '{}'\n");
        var onPath = ExecutableLookup.Resolve("sh");
        Assert.NotNull(onPath);

        // Act
        var bare = await new ManifestLoader().LoadAsync(Manifest("run.sh", extraRuntime: "  interpreter: sh"));
        var absolute = await new ManifestLoader().LoadAsync(Manifest("run.sh", extraRuntime: $"  interpreter: {onPath}"));

        // Assert
        Assert.NotNull(bare.Command);
        Assert.Empty(bare.Problems);
        Assert.NotNull(absolute.Command);
        Assert.Empty(absolute.Problems);
    }

    [Fact]
    public async Task A_missing_interpreter_or_a_non_executable_handler_is_reported_but_the_command_still_loads()
    {
        // Arrange
        _dir.Write("cmd/run.py", "print('{}')\n");
        _dir.Write("plain/run.sh", "echo '{}'\n");
        var missing = Manifest("run.py", extraRuntime: "  interpreter: python-that-does-not-exist");
        var plain = _dir.Write("plain/command.yaml", TestManifests.Yaml("plain", "run.sh"));

        // Act
        var catalog = await TestManifests.CatalogAsync(missing, plain);

        // Assert
        Assert.Equal(2, catalog.Commands.Count);
        Assert.Contains(catalog.Problems, p => p.Rule == "interpreter-missing" && p.File == missing && p.Line == 12);
        Assert.Contains(catalog.Problems, p => p.Rule == "handler-not-executable" && p.File == plain && p.Message.Contains("chmod +x"));
    }
}
