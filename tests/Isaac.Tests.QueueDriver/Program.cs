// Usage:
//   enqueue <db> <count> <tag>        enqueue commands; print "ack <id>" once each enqueue has returned
//   mixed <db> <count> <tag>          enqueue and drain in turns; print "ack <id>" and "claimed <id>"
//   drain <db>                        claim and complete until nothing is left; print "claimed <id>"
using System.Globalization;
using Isaac.Core.Queue;

var mode = args[0];
var db = args[1];
var count = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
var tag = args.Length > 3 ? args[3] : "driver";
var output = Console.Out;

await using var queue = new CommandQueue(db);
switch (mode)
{
    case "enqueue":
        for (var i = 0; i < count; i++)
        {
            var result = await queue.EnqueueAsync(Request(i));
            output.WriteLine($"ack {result.Id}");
            output.Flush();
        }

        break;
    case "mixed":
        for (var i = 0; i < count; i++)
        {
            var result = await queue.EnqueueAsync(Request(i));
            output.WriteLine($"ack {result.Id}");
            if (i % 3 == 0)
            {
                await DrainOnceAsync();
            }
        }

        while (await DrainOnceAsync() > 0)
        {
        }

        break;
    case "drain":
        while (await DrainOnceAsync() > 0)
        {
        }

        break;
    default:
        Console.Error.WriteLine($"unknown mode {mode}");
        return 64;
}

output.Flush();
return 0;

EnqueueRequest Request(int i) => new()
{
    Type = CommandType.DeviceRoute,
    Text = $"/status {tag}-{i}",
    Target = $"device-{i % 3}",
    Parallel = i % 4 != 0,
};

async Task<int> DrainOnceAsync()
{
    var batches = await queue.ClaimAsync(maxBatch: 10);
    var ids = batches.SelectMany(b => b.Commands).Select(c => c.Id).ToList();
    foreach (var id in ids)
    {
        output.WriteLine($"claimed {id}");
    }

    await queue.MarkDoneAsync(ids);
    return ids.Count;
}
