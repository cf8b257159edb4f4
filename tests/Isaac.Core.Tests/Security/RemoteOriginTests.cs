using System.Text.Json;
using Isaac.Core.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Isaac.Core.Tests.Security;

/// <summary>
/// Issue 9's first two findings with real processes (a hub, agents, shells): a device called "local" has no local
/// rights anywhere, and nothing a remote device answers can make this device run a command.
/// </summary>
public sealed class RemoteOriginTests : IDisposable
{
    private readonly HubHarness _hub = new();

    public void Dispose() => _hub.Dispose();

    private async Task StartWithLaptop2Async()
    {
        await _hub.StartHubAsync();
        _hub.StartAgent("laptop2");
        await new DeviceWatch(_hub).WaitForPresenceAsync("laptop2", online: true, TimeSpan.FromSeconds(30));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_hub_refuses_to_register_a_device_called_local_or_any_other_reserved_or_invalid_name()
    {
        // Act
        var local = await IsaacProcess.RunAsync(_hub.Home("admin"), "hub", "add-device", "local", "--data", _hub.HubData);
        var shouting = await IsaacProcess.RunAsync(_hub.Home("admin"), "hub", "add-device", "LOCAL", "--data", _hub.HubData);
        var spaced = await IsaacProcess.RunAsync(_hub.Home("admin"), "hub", "add-device", "lap top", "--data", _hub.HubData);
        var capitals = await IsaacProcess.RunAsync(_hub.Home("admin"), "hub", "add-device", "Laptop2", "--data", _hub.HubData);
        var again = await IsaacProcess.RunAsync(_hub.Home("admin"), "hub", "add-device", "laptop2", "--data", _hub.HubData);

        // Assert
        Assert.Equal((2, ""), (local.ExitCode, local.Stdout));
        Assert.Equal("isaac: Device name 'local' is reserved (reserved words: all, any, hub, local, none, remote, self); choose another name.", local.Stderr.Trim());
        Assert.Equal(2, shouting.ExitCode);
        Assert.Equal(2, spaced.ExitCode);
        Assert.Contains("contains ' ' at position 4", spaced.Stderr);
        Assert.Single(spaced.Stderr.Trim().Split('\n'));
        Assert.True(capitals.ExitCode == 0, capitals.ToString());
        Assert.Contains("Device 'laptop2' registered", capitals.Stderr);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("'laptop2' is already registered", again.Stderr);
        Assert.Equal(["laptop2"], DeviceRows());
    }

    [Fact(Timeout = 90_000)]
    public async Task A_device_called_local_by_a_forged_hub_row_gets_remote_rights_on_the_device_it_routes_to()
    {
        // Arrange: desktop's row renamed 'local' behind the hub's back (its token now authenticates 'local').
        await _hub.AddDevicesAsync("desktop", "laptop2");
        Rename("desktop", "local");
        var plainMarker = Path.Combine(_hub.Home("laptop2"), "plain-shell-ran");
        var tierMarker = Path.Combine(_hub.Home("laptop2"), "tier-2-ran");
        _hub.AddCommand("laptop2", "risky", $$"""touch '{{tierMarker}}'; printf '{"status":"success","stdout":"done"}'""", tier: 2);
        await StartWithLaptop2Async();

        // Act
        var plain = await _hub.RunAsync("desktop", $"!laptop2 touch '{plainMarker}'", "--json");
        var tiered = await _hub.RunAsync("desktop", "!laptop2 /risky", "--json");

        // Assert: the hub knew the sender as 'local', and laptop2 treated it as the remote device it is.
        Assert.Equal(["local"], Senders());
        using var plainJson = JsonDocument.Parse(plain.Stdout);
        using var tieredJson = JsonDocument.Parse(tiered.Stdout);
        Assert.Equal("DENIED", plainJson.RootElement.GetProperty("error").GetString());
        Assert.Contains("Plain shell commands never run for remote devices ('local')", plainJson.RootElement.GetProperty("stderr").GetString());
        Assert.Equal("DENIED", tieredJson.RootElement.GetProperty("error").GetString());
        Assert.Contains("tier 2", tieredJson.RootElement.GetProperty("stderr").GetString());
        Assert.False(File.Exists(plainMarker));
        Assert.False(File.Exists(tierMarker));
    }

    [Fact(Timeout = 150_000)]
    public async Task A_remote_confirm_answer_is_shown_as_text_naming_the_route_and_never_runs_at_the_local_prompt()
    {
        // Arrange: laptop2's /danger answers "confirm", naming a line that would leave a marker on the sender's machine.
        await _hub.AddDevicesAsync("desktop", "laptop2");
        var marker = Path.Combine(_hub.Home("desktop"), "confirmed-here");
        _hub.AddCommand("laptop2", "danger", Confirming(marker));
        await StartWithLaptop2Async();
        var environment = string.Join(' ', _hub.Environment("desktop").Select(e => $"{e.Key}='{e.Value}'"));
        using var tmux = TmuxSession.Start($"env -u CI {environment} '{Fixtures.IsaacExe}'", width: 250);
        await tmux.WaitForAsync("isaac>", timeoutMs: 30_000);

        // Act: route it, then answer "y" as if a question had been asked.
        tmux.Type("!laptop2 /danger");
        tmux.SendKeys("Enter");
        var shown = await tmux.WaitForAsync("asked to confirm", timeoutMs: 45_000);
        tmux.Type("y");
        tmux.SendKeys("Enter");
        var after = await tmux.WaitForAsync(screen => screen.Split("isaac>").Length > 3, "the prompt after the 'y' line", timeoutMs: 30_000);

        // Assert
        Assert.Contains("[laptop2] Wipe everything?", shown);
        Assert.Contains($"To go ahead, run it there: !laptop2 touch {marker})", shown);
        Assert.DoesNotContain("[y/n]", after);
        Assert.False(File.Exists(marker));
    }

    [Fact(Timeout = 90_000)]
    public async Task A_remote_confirm_answer_reaches_json_output_as_text_with_the_route_in_remote_confirm()
    {
        // Arrange
        await _hub.AddDevicesAsync("desktop", "laptop2");
        var marker = Path.Combine(_hub.Home("desktop"), "confirmed-here");
        _hub.AddCommand("laptop2", "danger", Confirming(marker));
        await StartWithLaptop2Async();

        // Act
        var run = await _hub.RunAsync("desktop", "!laptop2 /danger", "--json");

        // Assert
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var meta = json.RootElement.GetProperty("meta");
        Assert.Equal("text", json.RootElement.GetProperty("kind").GetString());
        Assert.False(meta.TryGetProperty("confirm", out _));
        Assert.Equal($"!laptop2 touch {marker}", meta.GetProperty("remote_confirm").GetString());
        Assert.False(File.Exists(marker));
    }

    private static string Confirming(string marker) =>
        $$$"""printf '%s' '{"status":"success","kind":"confirm","stdout":"Wipe everything?","meta":{"confirm":"touch {{{marker}}}"}}'""";

    private void Rename(string from, string to)
    {
        using var connection = HubDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE devices SET name = $to WHERE name = $from;";
        command.Parameters.AddWithValue("$to", to);
        command.Parameters.AddWithValue("$from", from);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private string[] Senders() => Column("SELECT DISTINCT sender FROM commands ORDER BY sender;");

    private string[] DeviceRows() => Column("SELECT name FROM devices ORDER BY name;");

    private string[] Column(string sql)
    {
        using var connection = HubDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return [.. values];
    }

    private SqliteConnection HubDatabase()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_hub.HubData, "hub.db")};Mode=ReadWrite;Pooling=False;Default Timeout=10");
        connection.Open();
        return connection;
    }
}
