using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using Isaac.Cli.Shell;
using Isaac.Core.Dispatch;
using Isaac.Core.Hosting;
using Isaac.Core.Sync;
using Isaac.Hub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Cli;

// isaac demo: the whole story on embedded defaults, in about a minute.
internal static partial class Commands
{
    public static async Task<int> DemoAsync()
    {
        var root = Directory.CreateTempSubdirectory("isaac-demo-").FullName;
        var terminal = Terminal.Detect();
        try
        {
            var address = FreeLoopbackAddress();
            var hubOptions = new HubOptions { DataDirectory = Path.Combine(root, "hub"), Urls = address };
            string desktopToken, laptopToken;
            using (var store = new HubStore(hubOptions.DataDirectory))
            {
                desktopToken = store.AddDevice("desktop", replace: false);
                laptopToken = store.AddDevice("laptop2", replace: false);
            }

            Say($"A hub on {address}, and two devices with their own ISAAC_HOME under {root}: 'desktop' (this shell) and 'laptop2' (an agent).");
            var hub = HubServer.Build(hubOptions);
            await hub.StartAsync();

            // Probing a little faster than the defaults so the story fits in a minute (docs/sync.md).
            var quick = new ConnectivityOptions { OfflineProbeMin = TimeSpan.FromMilliseconds(500), OfflineProbeMax = TimeSpan.FromSeconds(2) };
            var laptopSettings = Device(root, "laptop2", address, laptopToken, quick);
            var desktopSettings = Device(root, "desktop", address, desktopToken, quick);
            await using var laptop = await IsaacHost.StartAsync(laptopSettings, NullLoggerFactory.Instance);
            await using var desktop = await IsaacHost.StartAsync(desktopSettings, NullLoggerFactory.Instance);
            using var stop = new CancellationTokenSource();
            var agent = laptop.CreateAgent(capacity: 4)!.RunAsync(stop.Token);
            var queued = 0;
            using var prompt = desktop.QueueChanges.Subscribe(status => queued = status.Queued);
            var synced = desktop.SyncEvents.Replay();
            using var syncedConnection = synced.Connect();
            desktop.StartSync();
            await Task.Delay(1500);

            await TypeAsync(desktop, "!laptop2 /sysinfo", terminal, () => queued);

            Say("Stopping the hub. Commands for other devices now wait in desktop's durable queue.");
            await hub.StopAsync();
            await hub.DisposeAsync();
            await TypeAsync(desktop, "!laptop2 /sysinfo json", terminal, () => queued);
            await TypeAsync(desktop, "!laptop2 /help sysinfo", terminal, () => queued);
            await TypeAsync(desktop, "/queue", terminal, () => queued);

            Say("Restarting the hub. Nobody types anything: the sync pipeline notices and delivers.");
            hub = HubServer.Build(hubOptions);
            await hub.StartAsync();
            var done = await synced.FirstAsync(e => e.Finished).Timeout(TimeSpan.FromSeconds(30));
            Console.Out.WriteLine(done.ToString());

            Say("laptop2 runs them; their results arrive in desktop's inbox:");
            var shown = 0;
            var allShown = new TaskCompletionSource();
            await using (desktop.StartResultInbox(message =>
            {
                Console.Out.WriteLine(message);
                if (Interlocked.Increment(ref shown) == done.Synced)
                {
                    allShown.TrySetResult();
                }
            }))
            {
                await Task.WhenAny(allShown.Task, Task.Delay(TimeSpan.FromSeconds(15)));
            }

            Console.Out.WriteLine($"{Prompt(queued)} ");

            await stop.CancelAsync();
            await agent;
            await hub.StopAsync();
            await hub.DisposeAsync();
            Say("That was Isaac. Run 'isaac' for the shell; docs/hub.md shows how to connect real machines.");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static IsaacSettings Device(string root, string name, string hub, string token, ConnectivityOptions connectivity) =>
        IsaacSettings.Resolve(Path.Combine(root, name), name, hub) with { Token = token, Connectivity = connectivity };

    private static async Task TypeAsync(IsaacHost host, string line, Terminal terminal, Func<int> queued)
    {
        Console.Out.WriteLine($"{Prompt(queued())} {line}");
        var result = await host.DispatchAsync(line, terminal.Interactive, terminal.Width, host.Settings.Home);
        ResultPrinter.Print(result, terminal);
    }

    private static string Prompt(int queued) => queued > 0 ? $"isaac [OFFLINE: {queued} queued]>" : "isaac>";

    private static void Say(string text) => Console.Out.WriteLine($"\n# {text}");

    private static string FreeLoopbackAddress()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
    }
}
