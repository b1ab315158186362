"""Deterministic synthetic CMS framework job reports (FWJR).

No public dump of real FWJRs exists, so this module builds realistic ones from the facts in
docs/fwjr-format.md, with the irregularities the normalisation rules (docs/job-records.md) must
survive: int-or-string exit codes, 99999 placeholders, `site: {}`, metric sentinels, missing and
string metric values, very old dict-form `steps`, late arrivals and malformed lines.

Layout written by `generate`: ROOT/YYYY/MM/DD/fwjr-NNNNN.<ext>, one folder per day of migration.
The folder of day D holds reports whose `meta_data.ts` lies in D, except the late ones (D-1).

Determinism: day D is drawn from its own `random.Random` seeded by (seed, D), so its content
depends only on (seed, D, jobs, shares), never on the other days generated. Job i consumes the
stream in order, so a day of N jobs is a prefix of the same day with more jobs.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gzip
import io
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...cli import checks

DAY_SECONDS = 86400
EPOCH = dt.date(1970, 1, 1)

# ---------------------------------------------------------------------------------------------
# Vocabularies (realistic names; pools of the day are sampled from them)
# ---------------------------------------------------------------------------------------------

HOSTS = ["vocms0255.cern.ch", "vocms0256.cern.ch", "vocms0281.cern.ch", "vocms0282.cern.ch",
         "vocms0283.cern.ch"]
AGENT_VERSIONS = ["2.3.3", "2.3.4.1", "2.3.4.3", "2.3.5rc2"]

SITES = [
    "T0_CH_CERN", "T1_DE_KIT", "T1_ES_PIC", "T1_FR_CCIN2P3", "T1_IT_CNAF", "T1_RU_JINR",
    "T1_UK_RAL", "T1_US_FNAL", "T1_US_FNAL_Disk", "T1_DE_KIT_Disk", "T1_IT_CNAF_Disk",
    "T1_UK_RAL_Disk", "T2_AT_Vienna", "T2_BE_IIHE", "T2_BE_UCL", "T2_BR_SPRACE", "T2_BR_UERJ",
    "T2_CH_CERN", "T2_CH_CERN_HLT", "T2_CH_CSCS", "T2_CN_Beijing", "T2_DE_DESY", "T2_DE_RWTH",
    "T2_EE_Estonia", "T2_ES_CIEMAT", "T2_ES_IFCA", "T2_FI_HIP", "T2_FR_GRIF", "T2_FR_IPHC",
    "T2_GR_Ioannina", "T2_HU_Budapest", "T2_IN_TIFR", "T2_IT_Bari", "T2_IT_Legnaro",
    "T2_IT_Pisa", "T2_IT_Rome", "T2_KR_KISTI", "T2_PK_NCP", "T2_PL_Cyfronet", "T2_PL_Swierk",
    "T2_PT_NCG_Lisbon", "T2_RU_IHEP", "T2_RU_INR", "T2_RU_JINR", "T2_TR_METU", "T2_TW_NCHC",
    "T2_UA_KIPT", "T2_UK_London_Brunel", "T2_UK_London_IC", "T2_UK_SGrid_RALPP",
    "T2_US_Caltech", "T2_US_Florida", "T2_US_MIT", "T2_US_Nebraska", "T2_US_Purdue",
    "T2_US_UCSD", "T2_US_Vanderbilt", "T2_US_Wisconsin", "T3_US_NERSC", "T3_US_OSG",
    "T3_US_PSC", "T3_US_SDSC", "T3_US_TACC", "T3_US_Colorado", "T3_IT_Trieste",
]
SITES_PER_DAY = 50

DATA_ERAS = [
    "Run2016B", "Run2016C", "Run2016D", "Run2016E", "Run2016F", "Run2016G", "Run2016H",
    "Run2017B", "Run2017C", "Run2017D", "Run2017E", "Run2017F", "Run2018A", "Run2018B",
    "Run2018C", "Run2018D", "Run2022C", "Run2022D", "Run2022E", "Run2022F", "Run2022G",
    "Run2023C", "Run2023D", "Run2024C", "Run2024D", "Run2024E", "Run2024F",
]
MC_ERAS = [
    "RunIISummer20UL16", "RunIISummer20UL16APV", "RunIISummer20UL17", "RunIISummer20UL18",
    "RunIISummer19UL18", "RunIIAutumn18", "RunIIFall17", "Run3Summer22", "Run3Summer22EE",
    "Run3Summer23", "Run3Summer23BPix", "Run3Winter24", "RunIII2024Summer24", "Phase2Spring24",
    "Run3Winter23",
]
DATA_ERAS_PER_DAY, MC_ERAS_PER_DAY = 13, 12  # ~25 acquisition eras a day

# Software generation of an era: (global tag, CMSSW release, MC global tag)
SOFTWARE = {
    "run2": ("106X_dataRun2_v35", "CMSSW_10_6_30", "106X_upgrade2018_realistic_v16_L1v1"),
    "2022": ("124X_dataRun3_Prompt_v10", "CMSSW_12_4_11_patch3", "124X_mcRun3_2022_realistic_v12"),
    "2023": ("130X_dataRun3_PromptAnalysis_v1", "CMSSW_13_0_13", "130X_mcRun3_2023_realistic_v14"),
    "2024": ("140X_dataRun3_Prompt_v4", "CMSSW_14_0_7", "140X_mcRun3_2024_realistic_v26"),
}

PWGS = ["HIG", "TOP", "SMP", "EXO", "SUS", "BPH", "B2G", "BTV", "EGM", "TSG", "JME", "MUO"]
REQUESTORS = ["pdmvserv", "cmsunified", "amaltaro", "vlimant", "haozturk"]
MC_PRIMARIES = [
    "TTToSemiLeptonic_TuneCP5_13TeV-powheg-pythia8",
    "TTTo2L2Nu_TuneCP5_13p6TeV_powheg-pythia8",
    "DYJetsToLL_M-50_TuneCP5_13TeV-amcatnloFXFX-pythia8",
    "WJetsToLNu_TuneCP5_13TeV-madgraphMLM-pythia8",
    "GluGluHToBB_M125_TuneCP5_13TeV-powheg-pythia8",
    "VBFHToTauTau_M125_TuneCP5_13TeV-powheg-pythia8",
    "QCD_Pt-15to7000_TuneCP5_Flat2018_13TeV_pythia8",
    "ZZTo4L_TuneCP5_13TeV_powheg_pythia8",
    "WZTo3LNu_TuneCP5_13TeV-amcatnloFXFX-pythia8",
    "ST_tW_top_5f_inclusiveDecays_TuneCP5_13TeV-powheg-pythia8",
    "MinBias_TuneCP5_13p6TeV-pythia8",
    "BuToKMuMu_TuneCP5_13TeV-pythia8-evtgen",
]
DATA_PRIMARIES = ["JetHT", "SingleMuon", "EGamma", "MET", "DoubleMuon", "ZeroBias", "Muon",
                  "JetMET", "Tau", "BTagMu", "DisplacedJet", "ParkingBPH1", "MuonEG", "HLTPhysics"]
RUN2_PROCESSING = ["UL{year}_MiniAODv2", "UL{year}_NanoAODv9", "12Nov2019_UL{year}"]
RUN3_PROCESSING = ["22Sep2023", "PromptNanoAODv12", "27Jun2023", "ReRecoNanoAODv11", "PromptReco"]
SKIMS = ["EXOMONOPOLE", "JetHTJetPlusHOFilter", "ZMu", "EXODisappTrk", "LogError", "TopMuEG"]

# MC campaign steps: (suffix, jobtype, output module, tier, cpu seconds per event, events/job)
MC_STEPS = [
    ("wmLHEGEN", "Production", "RAWSIMoutput", "GEN", 2.0, 2000),
    ("GEN", "Production", "RAWSIMoutput", "GEN", 0.5, 5000),
    ("SIM", "Processing", "RAWSIMoutput", "GEN-SIM", 60.0, 500),
    ("DIGIPremix", "Processing", "PREMIXRAWoutput", "GEN-SIM-DIGI", 12.0, 1000),
    ("HLT", "Processing", "RAWSIMoutput", "GEN-SIM-RAW", 4.0, 2000),
    ("RECO", "Processing", "AODSIMoutput", "AODSIM", 15.0, 1000),
    ("MiniAODv2", "Processing", "MINIAODSIMoutput", "MINIAODSIM", 0.6, 10000),
    ("NanoAODv9", "Processing", "NANOAODSIMoutput", "NANOAODSIM", 0.05, 50000),
]
# Data processing flavours: output (module, tier) pairs and (cpu seconds per event, events/job)
DATA_FLAVOURS = [
    ((("RECOoutput", "RECO"), ("AODoutput", "AOD"), ("MINIAODoutput", "MINIAOD"),
      ("DQMoutput", "DQMIO")), 8.0, 5000),
    ((("AODoutput", "AOD"), ("MINIAODoutput", "MINIAOD"), ("DQMoutput", "DQMIO")), 6.0, 5000),
    ((("MINIAODoutput", "MINIAOD"),), 0.4, 40000),
    ((("NANOAODoutput", "NANOAOD"),), 0.03, 200000),
]
PARENT_TIER = {"GEN-SIM": "GEN", "GEN-SIM-DIGI": "GEN-SIM", "GEN-SIM-RAW": "GEN-SIM-DIGI",
               "AODSIM": "GEN-SIM-RAW", "MINIAODSIM": "AODSIM", "NANOAODSIM": "MINIAODSIM",
               "RECO": "RAW", "AOD": "RAW", "MINIAOD": "AOD", "NANOAOD": "MINIAOD",
               "DQMIO": "RAW", "RAW-RECO": "AOD"}
MB_PER_EVENT = {"GEN": 0.15, "GEN-SIM": 1.0, "GEN-SIM-DIGI": 1.6, "GEN-SIM-RAW": 2.0,
                "AODSIM": 0.4, "MINIAODSIM": 0.04, "NANOAODSIM": 0.0015, "RAW": 1.0,
                "RECO": 1.2, "AOD": 0.4, "MINIAOD": 0.05, "NANOAOD": 0.002, "DQMIO": 0.003,
                "RAW-RECO": 1.5}
CHAIN_NEXT = {"GEN": ("RAWSIMoutput", "GEN-SIM"), "GEN-SIM": ("PREMIXRAWoutput", "GEN-SIM-DIGI"),
              "GEN-SIM-DIGI": ("RAWSIMoutput", "GEN-SIM-RAW"),
              "GEN-SIM-RAW": ("AODSIMoutput", "AODSIM"),
              "AODSIM": ("MINIAODSIMoutput", "MINIAODSIM"),
              "MINIAODSIM": ("NANOAODSIMoutput", "NANOAODSIM"),
              "NANOAODSIM": ("NANOAODSIMoutput", "NANOAODSIM")}

JOBTYPES = ["Production", "Processing", "Merge", "Cleanup", "LogCollect", "Skim", "Harvesting"]
JOBTYPE_WEIGHTS = [30, 25, 20, 9, 9, 4, 3]
JOBSTATES = ["success", "jobfailed", "submitfailed"]
JOBSTATE_WEIGHTS = [85, 13, 2]

# Extra tasks a workflow may have besides its main one: probabilities tuned to ~1,000 tasks
# over ~500 workflows a day.
WORKFLOWS_PER_DAY = 500
EXTRA_TASK_SHARE = {"Merge": 0.5, "Cleanup": 0.2, "LogCollect": 0.2, "Harvesting": 0.05}
DATA_WORKFLOW_SHARE = 0.4
SKIM_SHARE_OF_DATA = 0.15
CHAINED_SHARE = 0.2          # Processing/Production tasks running a second cmsRun step
CRAB_SHARE = 0.01
CRAB_TASKS_PER_DAY = 20
OLD_STEPS_SHARE = 0.002      # very old reports: `steps` is an object keyed by step name
FLOAT_TS_SHARE = 0.1

# Metric anomalies: 6% of values are hit; of those, [0, 1.5%) -> -1, [1.5, 3%) -> -2,
# [3, 5%) -> missing, [5, 6%) -> numeric string.
INF_BELOW, NAN_BELOW, MISSING_BELOW, STRING_BELOW = 0.015, 0.03, 0.05, 0.06
STRING_CODE_SHARE = 0.3
PLACEHOLDER = 99999

CPU_METRICS = ["TotalJobCPU", "TotalJobTime", "AvgEventCPU", "MaxEventCPU", "MinEventCPU",
               "TotalEventCPU", "AvgEventTime", "MaxEventTime", "MinEventTime",
               "EventThroughput", "TotalLoopCPU", "TotalInitTime", "TotalInitCPU",
               "NumberOfThreads", "NumberOfStreams"]
MEMORY_METRICS = ["PeakValueRss", "PeakValueVsize"]
STORAGE_METRICS = ["readAveragekB", "readCachePercentageOps", "readMBSec", "readMaxMSec",
                   "readNumOps", "readPercentageOps", "readTotalMB", "readTotalSecs",
                   "writeTotalMB", "writeTotalSecs"]

# Failing-step exit codes with weights; pseudo-steps carry their own codes.
STEP_CODES = {
    "cmsRun": ([8001, 8020, 8021, 8028, 50660, 50661, 50664, 60450, 11003, 40, 80, 86],
               [30, 8, 8, 5, 10, 3, 5, 5, 3, 1, 2, 1]),
    "stageOut1": ([60450, 11003, 86], [6, 3, 1]),
    "logArch1": ([40, 80, 11003], [2, 2, 1]),
    "logCollect1": ([80, 86, 99303], [2, 1, 1]),
    "cleanupUnmerged1": ([40, 86], [1, 1]),
    "upload1": ([80, 86], [1, 1]),
}
PSEUDO_CODES = {"JobKilled": [71304, 61300, 50664], "PerformanceError": [50660, 50661, 50664],
                "NoJobReport": [99303, 61300]}
ERROR_TYPES = {8001: "Fatal Exception", 8020: "Fatal Exception", 8021: "Fatal Exception",
               8028: "Fatal Exception", 50660: "PerformanceKill", 50661: "PerformanceKill",
               50664: "PerformanceKill", 60450: "NoOutput", 61300: "JobKilled",
               71304: "JobKilled", 99303: "NoJobReport", PLACEHOLDER: "ReportManipulatingError"}

DETAILS = {
    "open": ("An exception of category 'FileOpenError' occurred while\n"
             "   [0] Constructing the EventProcessor\n"
             "   [1] Constructing input source of type PoolSource\n"
             "   [2] Calling RootInputFileSequence::initTheFile()\n"
             "   [3] Calling StorageFactory::open()\n"
             "Exception Message:\nFailed to open the file 'root://cms-xrd-global.cern.ch/{lfn}'\n"
             "   Additional Info:\n      [a] XrdCl::File::Open => error '[ERROR] Server responded"
             " with an error: [3011] No servers are available to read the file.' (errno=3011)\n"),
    "read": ("An exception of category 'FileReadError' occurred while\n"
             "   [0] Processing  Event run: {run} lumi: {lumi} event: {event} stream: {stream}\n"
             "   [1] Calling XrdFile::readv()\n"
             "Exception Message:\nXrdAdaptor::RequestManager::handle: read error on {lfn}\n"),
    "fatal": ("An exception of category 'FatalRootError' occurred while\n"
              "   [0] Processing  Event run: {run} lumi: {lumi} event: {event} stream: {stream}\n"
              "   [1] Running path '{module}_step'\n"
              "   [2] Calling method for module PoolOutputModule/'{module}'\n"
              "Additional Info:\n      [a] Fatal Root Error: @SUB=TBranchElement::Fill\n"),
    "rss": "Job has exceeded maxRSS: {limit} MB\nJob has RSS: {value} MB\nJob killed at {site}\n",
    "vsize": "Job has exceeded maxVSize: {limit} MB\nJob has VSize: {value} MB\n",
    "wall": "Job has exceeded maxWallTime: {limit} seconds\nJob has WallTime: {value} seconds\n",
    "nooutput": "No output files present in the report\nStep {step} at {site}\n",
    "killed": "The job was killed by the WMAgent, reason is unknown.\nLast site: {site}\n",
    "killwall": ("The job was killed by the WMAgent for using too much wallclock time.\n"
                 "Job status: Running\nRunning time: {value} seconds\n"),
    "noreport": ("Job failed at the site: no framework job report was found.\n"
                 "Condor exit code: {value}\nWorker node log:\n  [..] cmsRun exited\n"),
    "placeholder": ("Cannot find file in jobReport path: "
                    "/srv/job/WMTaskSpace/{step}/FrameworkJobReport.xml\n"),
    "generic": ("Error in {step}: process exited with code {code}\n"
                "Traceback (most recent call last):\n  File \"Startup.py\", line 104, in <module>\n"
                "WMExecutionFailure: {code}\n"),
}
DETAIL_OF_CODE = {8020: "open", 8028: "open", 8021: "read", 8001: "fatal", 50660: "rss",
                  50661: "vsize", 50664: "wall", 60450: "nooutput", 61300: "killed",
                  71304: "killwall", 99303: "noreport", PLACEHOLDER: "placeholder"}

# Malformed line kinds and the reject reason of docs/job-records.md each one must get.
MALFORMED_KINDS = {
    "truncated": "malformed_json",
    "garbage": "malformed_json",
    "no_ts": "missing_ts",
    "word_ts": "bad_ts",
    "steps_string": "wrong_type",
    "array": "wrong_type",
}
_MALFORMED_KIND_LIST = list(MALFORMED_KINDS)
TS_WORDS = ["yesterday", "unknown", "n/a", "soon", "tomorrow"]
# Garbage avoids every character that some reader takes for a line break (\n \r \v \f
# \x1c-\x1e \x85 \u2028 \u2029), so a garbage line stays one line everywhere.
_GARBAGE_ALPHABET = "".join(
    chr(c) for c in [*range(0, 10), 0x0e, 0x0f, *range(0x10, 0x1c), 0x1f, *range(0x20, 0x80),
                     *range(0xa0, 0x100)]) + "\ufffd"
_GARBAGE_HEADS = ["\x1f\x8b\x08\x00", "Obj\x01", "\x00\x00\x00", "\ufffd\ufffd", "PAR1\x15"]

FORMATS = {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "json": ".json", "parquet": ".parquet"}
PARQUET_BATCH_ROWS = 20_000
_WRITE_BATCH_LINES = 2_000

# One compact encoder, built once: json.dumps with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


# ---------------------------------------------------------------------------------------------
# Pools of the day
# ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Task:
    """A task of a workflow, with what its jobs look like."""
    path: str
    jobtype: str
    era: str
    campaign: str
    prepid: str
    primary: str
    processing: str
    global_tag: str
    cmssw: str
    outputs: tuple          # ((module_label, tier), ...)
    input_tier: str | None  # tier of the input files (None: generator, no input)
    events: int             # typical events per job
    cpu_per_event: float    # cpu seconds per event
    threads: int
    data: bool
    chained: bool = False
    crab: bool = False
    output_templates: dict = field(default_factory=dict)  # (module, tier) -> static fields


@dataclass(slots=True)
class Pools:
    """The day's hosts, sites, eras and tasks, and how often each is picked."""
    hosts: list             # [(host, agent_ver)]
    sites: list
    site_cum: list
    eras: list
    tasks: dict             # jobtype -> [Task]
    task_cum: dict          # jobtype -> cumulative weights
    crab_tasks: list = field(default_factory=list)
    placements: dict = field(default_factory=dict)  # task path -> (host, sites)

    def place(self, task: Task) -> tuple:
        """The agent host that runs a task and the one to three sites its jobs go to.

        A task is handled by one agent and runs at a few sites, as in production; drawing
        them per job instead would make nearly every job a scope of its own (WMArchive saw
        ~15k documents a day at day precision, not one per job)."""
        placed = self.placements.get(task.path)
        if placed is None:
            chooser = random.Random(f"{task.path}/{self.sites[0]}")
            host = self.hosts[int(chooser.random() * len(self.hosts))]
            count = 1 + int(chooser.random() * 3)
            sites = tuple(dict.fromkeys(self.pick_site(chooser) for _ in range(count)))
            placed = self.placements[task.path] = (host, sites)
        return placed

    def pick_site(self, rng: random.Random) -> str:
        return self.sites[bisect.bisect(self.site_cum, rng.random() * self.site_cum[-1])]

    def pick_task(self, rng: random.Random) -> Task:
        jobtype = _pick(rng, JOBTYPES, _JOBTYPE_CUM)
        cum = self.task_cum[jobtype]
        return self.tasks[jobtype][bisect.bisect(cum, rng.random() * cum[-1])]

    def pick_host(self, rng: random.Random) -> tuple:
        return self.hosts[int(rng.random() * len(self.hosts))]


def _cumulative(weights) -> list:
    return list(itertools.accumulate(weights))


_JOBTYPE_CUM = _cumulative(JOBTYPE_WEIGHTS)
_JOBSTATE_CUM = _cumulative(JOBSTATE_WEIGHTS)
_STEP_CODE_CUM = {step: (codes, _cumulative(w)) for step, (codes, w) in STEP_CODES.items()}


def _pick(rng: random.Random, values: list, cum: list):
    return values[bisect.bisect(cum, rng.random() * cum[-1])]


def _software(era: str) -> tuple:
    for year in ("2022", "2023", "2024"):
        if year in era or f"Run3Summer{year[2:]}" in era or f"Run3Winter{year[2:]}" in era:
            return SOFTWARE[year]
    return SOFTWARE["2024"] if era.startswith(("RunIII", "Phase2")) else SOFTWARE["run2"]


def _stamp(rng: random.Random) -> str:
    """A request time stamp as agents put it in workflow names: yymmdd_HHMMSS_NNNN."""
    return (f"{rng.randint(21, 24)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}_"
            f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}_"
            f"{rng.randint(1000, 9999)}")


def make_pools(rng: random.Random) -> Pools:
    """Draw the day's pools: ~5 hosts, ~50 sites, ~25 eras, ~500 workflows, ~1,000 tasks."""
    hosts = [(host, rng.choice(AGENT_VERSIONS)) for host in HOSTS]
    sites = rng.sample(SITES, SITES_PER_DAY)
    site_cum = _cumulative(1.0 / (rank + 1) ** 0.8 for rank in range(len(sites)))  # Zipf-like
    data_eras = rng.sample(DATA_ERAS, DATA_ERAS_PER_DAY)
    mc_eras = rng.sample(MC_ERAS, MC_ERAS_PER_DAY)
    tasks = {jobtype: [] for jobtype in JOBTYPES}
    for _ in range(WORKFLOWS_PER_DAY):
        is_data = rng.random() < DATA_WORKFLOW_SHARE
        for task in (_data_workflow(rng, data_eras) if is_data else _mc_workflow(rng, mc_eras)):
            tasks[task.jobtype].append(task)
    _fill_empty_jobtypes(rng, tasks, mc_eras)
    task_cum = {jobtype: _cumulative(rng.lognormvariate(0, 1.2) for _ in tasks[jobtype])
                for jobtype in JOBTYPES}
    crab_tasks = [_crab_task(rng, data_eras + mc_eras) for _ in range(CRAB_TASKS_PER_DAY)]
    return Pools(hosts, sites, site_cum, data_eras + mc_eras, tasks, task_cum, crab_tasks)


def _mc_workflow(rng: random.Random, eras: list) -> list:
    era = rng.choice(eras)
    suffix, jobtype, module, tier, cpu_per_event, events = rng.choice(MC_STEPS)
    campaign = f"{era}{suffix}"
    prepid = f"{rng.choice(PWGS)}-{campaign}-{rng.randint(1, 9999):05d}"
    workflow = f"{rng.choice(REQUESTORS[:2])}_task_{prepid}__v1_T_{_stamp(rng)}"
    primary = rng.choice(MC_PRIMARIES)
    if rng.random() < 0.3:  # signal scans give many distinct primary datasets
        primary = f"ZprimeToTT_M{rng.randrange(500, 6000, 250)}_W{rng.choice([1, 10, 30])}" \
                  "_TuneCP5_13TeV-madgraphMLM-pythia8"
    _, cmssw, global_tag = _software(era)  # MC uses the MC global tag
    main = Task(path=f"/{workflow}/{prepid}_0", jobtype=jobtype, era=era, campaign=campaign,
                prepid=prepid, primary=primary, processing=f"{global_tag}-v{rng.randint(1, 3)}",
                global_tag=global_tag, cmssw=cmssw, outputs=((module, tier),),
                input_tier=PARENT_TIER.get(tier) if jobtype == "Processing" else None,
                events=int(events * rng.uniform(0.5, 2)),
                cpu_per_event=cpu_per_event * rng.uniform(0.6, 1.6),
                threads=rng.choice([1, 2, 4, 4, 8, 8]), data=False,
                chained=rng.random() < CHAINED_SHARE)
    return [main, *_extra_tasks(rng, main, f"{prepid}_0", module)]


def _data_workflow(rng: random.Random, eras: list) -> list:
    era = rng.choice(eras)
    primary = rng.choice(DATA_PRIMARIES)
    processing = _data_processing(rng, era)
    outputs, cpu_per_event, events = rng.choice(DATA_FLAVOURS)
    workflow = f"{rng.choice(REQUESTORS)}_{era}_{primary}_{processing}_{_stamp(rng)}"
    prepid = f"ReReco-{era}-{primary}-{processing}-{rng.randint(1, 999):05d}"
    global_tag, cmssw, _ = _software(era)
    main = Task(path=f"/{workflow}/DataProcessing", jobtype="Processing", era=era,
                campaign=processing, prepid=prepid, primary=primary, processing=processing,
                global_tag=global_tag, cmssw=cmssw, outputs=outputs,
                input_tier=PARENT_TIER[outputs[0][1]], events=int(events * rng.uniform(0.5, 2)),
                cpu_per_event=cpu_per_event * rng.uniform(0.6, 1.6),
                threads=rng.choice([4, 8, 8]), data=True, chained=rng.random() < CHAINED_SHARE)
    extras = _extra_tasks(rng, main, "DataProcessing", outputs[0][0])
    if rng.random() < SKIM_SHARE_OF_DATA:
        extras.append(_derived(main, "Skim", f"/{workflow}/DataProcessing/DataProcessingMerge"
                               f"{outputs[0][0]}/SKIMStream{rng.choice(SKIMS)}",
                               outputs=(("SKIMStreamOutput", "RAW-RECO"),), input_tier="AOD",
                               events=50000, cpu_per_event=0.05, threads=1))
    return [main, *extras]


def _data_processing(rng: random.Random, era: str) -> str:
    year = era[3:7]
    if year in ("2016", "2017", "2018"):
        return rng.choice(RUN2_PROCESSING).format(year=year)
    return rng.choice(RUN3_PROCESSING)


def _extra_tasks(rng: random.Random, main: Task, name: str, module: str) -> list:
    """Merge, Cleanup, LogCollect and Harvesting tasks hanging under a main task."""
    base = main.path
    merged_tier = main.outputs[0][1]
    candidates = {
        "Merge": lambda: _derived(main, "Merge", f"{base}/{name}Merge{module}",
                                  outputs=(("Merged", merged_tier),), input_tier=merged_tier,
                                  events=int(main.events * rng.uniform(5, 40)),
                                  cpu_per_event=0.002, threads=1),
        "Cleanup": lambda: _derived(main, "Cleanup", f"{base}/{name}CleanupUnmerged{module}"),
        "LogCollect": lambda: _derived(main, "LogCollect",
                                       f"{base}/{name}Merge{module}/{name}{module}MergeLogCollect"),
        "Harvesting": lambda: _derived(main, "Harvesting",
                                       f"{base}/{name}MergeDQMoutput/"
                                       f"{name}MergeDQMoutputEndOfRunDQMHarvestMerged",
                                       input_tier="DQMIO", events=20000, cpu_per_event=0.01,
                                       threads=1),
    }
    return [make() for jobtype, make in candidates.items()
            if rng.random() < EXTRA_TASK_SHARE[jobtype]]


def _derived(main: Task, jobtype: str, path: str, *, outputs=(), input_tier=None, events=0,
             cpu_per_event=0.0, threads=1) -> Task:
    return Task(path=path, jobtype=jobtype, era=main.era, campaign=main.campaign,
                prepid=main.prepid, primary=main.primary, processing=main.processing,
                global_tag=main.global_tag, cmssw=main.cmssw, outputs=outputs,
                input_tier=input_tier, events=events, cpu_per_event=cpu_per_event,
                threads=threads, data=main.data)


def _fill_empty_jobtypes(rng: random.Random, tasks: dict, eras: list) -> None:
    """Every job type needs at least one task, however small the draw."""
    for jobtype, found in tasks.items():
        while not found:
            main = _mc_workflow(rng, eras)[0]
            found.append(main if main.jobtype == jobtype else
                         _derived(main, jobtype, f"{main.path}/{main.prepid}_0{jobtype}",
                                  outputs=main.outputs if jobtype in ("Skim", "Merge") else (),
                                  input_tier=main.outputs[0][1], events=main.events,
                                  cpu_per_event=0.01))


def _crab_task(rng: random.Random, eras: list) -> Task:
    """CRAB user tasks: `yymmdd_HHMMSS:user_crab_name` gives workflow = task."""
    user = rng.choice(["jdoe", "mrossi", "akumar", "lwang", "sschmidt"])
    name = f"{_stamp(rng)[:13]}:{user}_crab_{rng.choice(DATA_PRIMARIES)}_{rng.randint(1, 99)}"
    era = rng.choice(eras)
    global_tag, cmssw, _ = _software(era)
    return Task(path=name, jobtype="Processing", era=era, campaign="Analysis", prepid="",
                primary=rng.choice(DATA_PRIMARIES), processing=f"crab_{user}", cmssw=cmssw,
                global_tag=global_tag, outputs=(("output", "USER"),), input_tier="MINIAOD",
                events=20000, cpu_per_event=0.2, threads=1, data=True, crab=True)


# ---------------------------------------------------------------------------------------------
# One report
# ---------------------------------------------------------------------------------------------

def _randint(rng: random.Random, low: int, high: int) -> int:
    """random.randint without its pure-Python overhead (it is called a lot per report)."""
    return low + int(rng.random() * (high - low + 1))


class _Files:
    """The report's LFNArray/PFNArray: records refer to files by index."""
    __slots__ = ("lfns", "pfns")

    def __init__(self):
        self.lfns, self.pfns = [], []

    def add(self, lfn: str, pfn: str) -> int:
        self.lfns.append(lfn)
        self.pfns.append(pfn)
        return len(self.lfns) - 1


def _uuid(rng: random.Random) -> str:
    h = "%032X" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _lfn(rng: random.Random, task: Task, tier: str, *, merged: bool) -> str:
    area = ("data" if task.data else "mc") if merged else "unmerged"
    return (f"/store/{area}/{task.era}/{task.primary}/{tier}/{task.processing}/"
            f"{_randint(rng, 0, 99) * 10000:05d}/{_uuid(rng)}.root")


def _runs(rng: random.Random, task: Task) -> list:
    run = 1 if not task.data else 315000 + int(rng.random() * 60000)
    first = 1 + int(rng.random() * 2000)
    return [{"runNumber": run, "lumis": list(range(first, first + 1 + int(rng.random() * 6)))}]


def _empty_performance() -> dict:
    return {"cpu": {}, "memory": {}, "storage": {}, "multicore": {}}


def _step(name: str, site, status: int = 0) -> dict:
    return {"name": name, "site": site, "start": None, "stop": None, "status": status,
            "errors": [], "input": [], "output": [], "performance": _empty_performance()}


def _with_anomalies(rng: random.Random, names: list, values: list) -> dict:
    """A metric group where a few values are sentinels, missing or numeric strings.

    Each value is hit with probability STRING_BELOW, independently; rather than one roll per
    value, the gap to the next hit is drawn (geometric), which is several times cheaper.
    """
    group = dict(zip(names, values))
    index = _gap_to_next_anomaly(rng)
    while index < len(names):
        name, roll = names[index], rng.random() * STRING_BELOW
        if roll < INF_BELOW:
            group[name] = -1
        elif roll < NAN_BELOW:
            group[name] = -2
        elif roll < MISSING_BELOW:
            del group[name]
        else:
            group[name] = str(group[name])
        index += 1 + _gap_to_next_anomaly(rng)
    return group


_LOG_NO_ANOMALY = math.log(1.0 - STRING_BELOW)


def _gap_to_next_anomaly(rng: random.Random) -> int:
    return int(math.log(1.0 - rng.random()) / _LOG_NO_ANOMALY)


def _performance(rng: random.Random, task: Task, events: int, read_mb: float,
                 write_mb: float) -> tuple[dict, float]:
    """Consistent cpu/memory/storage metrics of one cmsRun step, and its wall time."""
    uniform = rng.random  # inlined `low + span * uniform()`: rng.uniform is slow Python
    threads = task.threads
    streams = threads if uniform() < 0.9 else max(1, threads // 2)
    efficiency = 0.5 + 0.45 * uniform()
    init = 20 + 280 * uniform()
    loop_cpu = max(1.0, events * task.cpu_per_event * rng.lognormvariate(0, 0.25))
    loop_wall = loop_cpu / (threads * efficiency)
    wall = init + loop_wall
    per_event_cpu = loop_cpu / events
    per_event_time = loop_wall * streams / events
    cpu = [round(loop_cpu + init * 0.8, 2), round(wall, 2), round(per_event_cpu, 4),
           round(per_event_cpu * (3 + 27 * uniform()), 4),
           round(per_event_cpu * (0.01 + 0.29 * uniform()), 5),
           round(loop_cpu * 0.98, 2), round(per_event_time, 4),
           round(per_event_time * (3 + 27 * uniform()), 4),
           round(per_event_time * (0.01 + 0.29 * uniform()), 5), round(events / loop_wall, 4),
           round(loop_cpu, 2), round(init, 2), round(init * 0.8, 2), threads, streams]
    rss = (300 + 650 * threads) * (0.6 + 0.8 * uniform())
    memory = [round(rss, 1), round(rss * (1.5 + 1.5 * uniform()), 1)]
    read_kb = 30 + 1970 * uniform()
    read_secs = max(0.1, loop_wall * (0.01 + 0.29 * uniform()))
    write_secs = max(0.01, write_mb / (20 + 180 * uniform()))
    storage = [round(read_kb, 2), round(100 * uniform(), 2), round(read_mb / read_secs, 3),
               round(50 + 19950 * uniform(), 1), int(read_mb * 1024 / read_kb) + 1,
               round(80 + 70 * uniform(), 2), round(read_mb, 2), round(read_secs, 2),
               round(write_mb, 2), round(write_secs, 2)]
    performance = {"cpu": _with_anomalies(rng, CPU_METRICS, cpu),
                   "memory": _with_anomalies(rng, MEMORY_METRICS, memory),
                   "storage": _with_anomalies(rng, STORAGE_METRICS, storage),
                   "multicore": {}}
    return performance, wall


def _inputs(rng: random.Random, task: Task, files: _Files, events: int) -> list:
    """Input file records of the first cmsRun step (generators read none)."""
    if task.input_tier is None:
        return []
    count = {"Merge": 2 + int(rng.random() * 10), "Harvesting": 1 + int(rng.random() * 4)}.get(
        task.jobtype, 1 + int(rng.random() * 2))
    merged = task.jobtype != "Merge"
    records = []
    for _ in range(count):
        lfn = _lfn(rng, task, task.input_tier, merged=merged)
        index = files.add(lfn, "root://cms-xrd-global.cern.ch/" + lfn)
        records.append({"lfn": index, "pfn": index, "input_type": "primaryFiles",
                        "module_label": "source", "events": max(1, events // count),
                        "runs": _runs(rng, task)})
    return records


def _output_template(task: Task, module: str, tier: str) -> dict:
    """The fields of an output record that only depend on the task (built once per task)."""
    key = (module, tier)
    if key not in task.output_templates:
        task.output_templates[key] = {
            "lfn": None, "pfn": None, "inputLFNs": None, "module_label": module,
            "outputDataset": f"/{task.primary}/{task.era}-{task.processing}/{tier}",
            "acquisitionEra": task.era, "processingVer": 1, "processingStr": task.processing,
            "globalTag": task.global_tag, "events": None, "size": None, "runs": None,
            "merged": task.jobtype == "Merge", "applicationVersion": task.cmssw,
            "location": None, "checksums": None}
    return task.output_templates[key]


def _outputs(rng: random.Random, task: Task, files: _Files, site: str, events: int,
             outputs: tuple, input_indexes: list) -> list:
    merged = task.jobtype == "Merge"
    records = []
    for module, tier in outputs:
        # a skim keeps a fraction of the events; other modules write every event
        written = max(1, int(events * rng.uniform(0.01, 0.3))) if task.jobtype == "Skim" \
            else events
        index = files.add(_lfn(rng, task, tier, merged=merged), f"{module}.root")
        record = dict(_output_template(task, module, tier))
        record.update(
            lfn=index, pfn=index, inputLFNs=input_indexes, events=written,
            size=int(written * MB_PER_EVENT.get(tier, 0.3) * 1e6 * (0.8 + 0.4 * rng.random())),
            runs=_runs(rng, task), location=site,
            checksums={"adler32": "%08x" % rng.getrandbits(32), "cksum": str(rng.getrandbits(32))})
        if rng.random() < 0.01:  # a few records lack the era
            record["acquisitionEra"] = None
        records.append(record)
    return records


def _cmsrun_steps(rng: random.Random, task: Task, site: str, files: _Files) -> list:
    """The cmsRun steps of a job as (step, wall seconds); a chained job runs two."""
    events = max(1, int(task.events * rng.lognormvariate(0, 0.5)))
    inputs = _inputs(rng, task, files, events)
    outputs = task.outputs
    chain = [outputs, (CHAIN_NEXT.get(outputs[0][1], outputs[0]),)] if task.chained else [outputs]
    if task.jobtype == "Harvesting":
        chain = [()]  # harvesting uploads DQM histograms, it writes no dataset
    steps = []
    for number, step_outputs in enumerate(chain, start=1):
        step = _step(f"cmsRun{number}", site)
        step["input"] = inputs
        step["output"] = _outputs(rng, task, files, site, events, step_outputs,
                                  [record["lfn"] for record in inputs])
        # generators read pile-up only; others read their input files once
        read_mb = events * (MB_PER_EVENT.get(task.input_tier, 0.5) if inputs else 0.05)
        write_mb = sum(record["size"] for record in step["output"]) / 1e6
        step["performance"], wall = _performance(rng, task, events, read_mb, write_mb)
        steps.append((step, wall))
        # the next chained step reads what this one wrote
        inputs = [{"lfn": record["lfn"], "pfn": record["pfn"], "input_type": "primaryFiles",
                   "module_label": "source", "events": events, "runs": record["runs"]}
                  for record in step["output"][:1]]
    return steps


_OTHER_STEP_SECONDS = {"stageOut1": (5, 600), "logArch1": (2, 60), "upload1": (5, 120),
                       "logCollect1": (60, 1800), "cleanupUnmerged1": (10, 600)}


def _other_step(rng: random.Random, name: str, site: str) -> tuple[dict, float]:
    low, high = _OTHER_STEP_SECONDS[name]
    return _step(name, site), rng.uniform(low, high)


def _job_steps(rng: random.Random, task: Task, site: str, files: _Files) -> list:
    """The steps of a successful job of this task, as (step, wall seconds)."""
    jobtype = task.jobtype
    if jobtype == "LogCollect":
        return [_other_step(rng, "logCollect1", site)]
    if jobtype == "Cleanup":
        return [_other_step(rng, "cleanupUnmerged1", site), _other_step(rng, "logArch1", site)]
    steps = _cmsrun_steps(rng, task, site, files)
    tail = ["upload1", "logArch1"] if jobtype == "Harvesting" else ["stageOut1", "logArch1"]
    return steps + [_other_step(rng, name, site) for name in tail]


def _code(rng: random.Random, code: int):
    return str(code) if rng.random() < STRING_CODE_SHARE else code


def _error(rng: random.Random, code: int, step: str, site: str) -> dict:
    template = DETAILS[DETAIL_OF_CODE.get(code, "generic")]
    details = template.format(
        lfn=f"/store/mc/{step}/{_uuid(rng)}.root", run=1 + int(rng.random() * 400000),
        lumi=1 + int(rng.random() * 2000), event=int(rng.random() * 10**8),
        stream=int(rng.random() * 8), module="RAWSIMoutput", site=site, step=step, code=code,
        limit=rng.choice([2000, 4000, 16000, 129600]), value=_randint(rng, 2001, 200000))
    return {"exitCode": _code(rng, code), "type": ERROR_TYPES.get(code, "WMAgentStepFailure"),
            "details": details}


def _pseudo_step(rng: random.Random, name: str, site: str) -> dict:
    """JobKilled/NoJobReport/PerformanceError: half the time the site is unknown ({})."""
    return _step(name, {} if rng.random() < 0.5 else site)


def _fail(rng: random.Random, steps: list, site: str) -> tuple[list, int]:
    """Turn a successful job's steps into a failed job's; returns steps and the real code."""
    failing = _failing_index(rng, steps)
    step = steps[failing][0]
    if step["name"].startswith("cmsRun"):
        step["output"] = []  # a failed cmsRun writes nothing
        if rng.random() < 0.3:
            step["performance"] = _empty_performance()
    if rng.random() < 0.15:
        step["site"] = {}
    if rng.random() < 0.4:
        step["stop"] = "killed"  # marker: _place_in_time leaves stop null
    # logArch still runs after a failure most of the time
    kept = steps[:failing + 1] + [pair for pair in steps[failing + 1:]
                                  if pair[0]["name"] == "logArch1" and rng.random() < 0.6]
    codes, cum = _STEP_CODE_CUM[_code_family(step["name"])]
    real = _pick(rng, codes, cum)
    roll = rng.random()
    if roll < 0.02:                        # only the placeholder
        step["errors"] = [_error(rng, PLACEHOLDER, step["name"], site)]
        real = PLACEHOLDER
    elif roll < 0.12:                      # placeholder first, the real code in a later step
        step["errors"] = [_error(rng, PLACEHOLDER, step["name"], site)]
        real = _append_pseudo(rng, kept, site)
    else:
        step["errors"] = [_error(rng, real, step["name"], site)]
        if rng.random() < 0.2:
            _append_pseudo(rng, kept, site)
    step["status"] = real
    return kept, real


def _failing_index(rng: random.Random, steps: list) -> int:
    cmsruns = [i for i, (step, _) in enumerate(steps) if step["name"].startswith("cmsRun")]
    if cmsruns and rng.random() < 0.8:
        return cmsruns[int(rng.random() * len(cmsruns))]
    return int(rng.random() * len(steps))


def _code_family(step_name: str) -> str:
    return "cmsRun" if step_name.startswith("cmsRun") else step_name


def _append_pseudo(rng: random.Random, steps: list, site: str) -> int:
    name = rng.choice(list(PSEUDO_CODES))
    code = rng.choice(PSEUDO_CODES[name])
    step = _pseudo_step(rng, name, site)
    step["status"] = code
    step["errors"] = [_error(rng, code, name, site)]
    steps.append((step, None))
    return code


def _submit_failed(rng: random.Random, site: str) -> tuple[list, int]:
    """A job that never ran: one pseudo-step, often without a site."""
    steps = []
    code = _append_pseudo(rng, steps, site)
    return steps, code


def _place_in_time(rng: random.Random, steps: list, ts: float) -> tuple[int, int]:
    """Set start/stop backwards from the report time; returns the job's (start, end)."""
    end = int(ts) - _randint(rng, 5, 300)  # the report is written after the last step
    cursor = end
    for step, wall in reversed(steps):
        if wall is None:                  # pseudo-steps: stamped, never stopped
            step["start"], step["stop"] = cursor, None
            continue
        start = int(cursor - wall)
        step["stop"] = None if step["stop"] == "killed" else cursor
        step["start"] = start
        cursor = start - _randint(rng, 1, 20)
    return min(cursor, end), end


def make_report(rng: random.Random, ts: float, *, day_pools: Pools) -> dict:
    """One realistic FWJR dict whose meta_data.ts is `ts` (kept as given: int or float)."""
    if rng.random() < CRAB_SHARE:
        task = day_pools.crab_tasks[int(rng.random() * len(day_pools.crab_tasks))]
    else:
        task = day_pools.pick_task(rng)
    state = _pick(rng, JOBSTATES, _JOBSTATE_CUM)
    (host, agent_ver), sites = day_pools.place(task)
    site = sites[int(rng.random() * len(sites))]
    files = _Files()
    code = 0
    if state == "submitfailed":
        steps, code = _submit_failed(rng, site)
    else:
        steps = _job_steps(rng, task, site, files)
        if state == "jobfailed":
            steps, code = _fail(rng, steps, site)
    start, end = _place_in_time(rng, steps, ts)
    step_dicts = [step for step, _ in steps]
    meta = {"agent_ver": agent_ver,
            "fwjr_id": f"{_randint(rng, 100000, 9999999)}-{_retry(rng)}",
            "host": host, "jobstate": state, "jobtype": task.jobtype, "ts": ts}
    if task.crab:
        meta.update(crab_id=str(_randint(rng, 1, 5000)), crab_exit_code=code,
                    wn_name=f"b{_randint(rng, 6, 9)}g{_randint(rng, 10, 40)}"
                            f"p{_randint(rng, 1000, 9999)}.cern.ch")
    fallback = [0] if code == 8028 and files.lfns else []
    return {
        "meta_data": meta,
        "task": task.path,
        "steps": _old_form(step_dicts) if rng.random() < OLD_STEPS_SHARE else step_dicts,
        "LFNArray": files.lfns,
        "LFNArrayRef": ["fallbackFiles", "inputLFNs", "lfn", "skippedFiles"],
        "PFNArray": files.pfns,
        "PFNArrayRef": ["inputPFNs", "pfn"],
        "WMTiming": {"WMJobStart": start, "WMJobEnd": end, "WMTotalWallClockTime": end - start},
        "Campaign": task.campaign,
        "PrepID": task.prepid,
        "fallbackFiles": fallback,
        "skippedFiles": [],
        "wmaid": "%032x" % rng.getrandbits(128),
        "wmats": int(ts) + int(rng.expovariate(1 / 1800)),  # ingested a while after the job
        "stype": "mongodb",
        "dtype": "crab" if task.crab else "fwjr",
    }


def _retry(rng: random.Random) -> int:
    return 0 if rng.random() < 0.8 else _randint(rng, 1, 3)


def _old_form(steps: list) -> dict:
    """Very old reports key their steps by name, and the step dicts carry no `name`."""
    return {step["name"]: {key: value for key, value in step.items() if key != "name"}
            for step in steps}


# ---------------------------------------------------------------------------------------------
# One day
# ---------------------------------------------------------------------------------------------

def _day_rng(seed: int, day: dt.date) -> random.Random:
    # A string seed is hashed with SHA-512 by random: stable across runs and PYTHONHASHSEED.
    return random.Random(f"jobrollup.generate/{seed}/{day.toordinal()}")


def _day_start(day: dt.date) -> int:
    return (day - EPOCH).days * DAY_SECONDS


def _job_ts(rng: random.Random, day_start: int):
    """A job time spread uniformly over the 24 hours of the day; int mostly, float sometimes."""
    if rng.random() < FLOAT_TS_SHARE:
        return day_start + min(round(rng.random() * DAY_SECONDS, 3), DAY_SECONDS - 0.001)
    return day_start + int(rng.random() * DAY_SECONDS)


def _migration_time(rng: random.Random, wmats: int, folder_start: int) -> int:
    """The folder is the day of ingestion: late reports were ingested early on that day."""
    if wmats < folder_start:
        wmats = folder_start + int(rng.expovariate(1 / 3600))
    return min(wmats, folder_start + DAY_SECONDS - 1)


def _day_items(day: dt.date, jobs: int, seed: int, late_share: float, malformed_share: float,
               counts: dict):
    """Yield the day's reports in folder order: dicts, or str for malformed lines."""
    rng = _day_rng(seed, day)
    pools = make_pools(rng)
    start = _day_start(day)
    for _ in range(jobs):
        malformed = rng.random() < malformed_share
        late = not malformed and rng.random() < late_share
        ts = _job_ts(rng, start - DAY_SECONDS if late else start)
        report = make_report(rng, ts, day_pools=pools)
        report["wmats"] = _migration_time(rng, report["wmats"], start)
        counts["reports"] += 1
        if malformed:
            counts["malformed"] += 1
            yield _corrupt(rng, report)
        else:
            counts["late"] += late
            yield report


def _corrupt(rng: random.Random, report: dict) -> str:
    """One malformed line of a random kind (see MALFORMED_KINDS)."""
    kind = _MALFORMED_KIND_LIST[int(rng.random() * len(_MALFORMED_KIND_LIST))]
    if kind == "truncated":
        text = _ENCODER.encode(report)
        return text[:1 + int(rng.random() * (len(text) - 2))]
    if kind == "garbage":
        body = "".join(rng.choice(_GARBAGE_ALPHABET) for _ in range(_randint(rng, 10, 300)))
        return rng.choice(_GARBAGE_HEADS) + body
    if kind == "no_ts":
        if rng.random() < 0.25:
            report["meta_data"]["ts"] = None
        else:
            del report["meta_data"]["ts"]
    elif kind == "word_ts":
        report["meta_data"]["ts"] = rng.choice(TS_WORDS)
    elif kind == "steps_string":
        report["steps"] = "cmsRun1,stageOut1,logArch1"
    else:  # array: either the report wrapped in a list, or a list of scalars
        return _ENCODER.encode([report] if rng.random() < 0.5
                               else ["fwjr", report["meta_data"]["ts"], report["task"]])
    return _ENCODER.encode(report)


def _to_line(item) -> str:
    return item if isinstance(item, str) else _ENCODER.encode(item)


def generate_day(day: dt.date, jobs: int, *, seed: int = 0, late_share: float = 0.05,
                 malformed_share: float = 0.0) -> tuple[list[str], dict]:
    """The JSON lines of the folder of `day`, in order, and {"reports", "malformed", "late"}.

    `reports` counts every line (malformed ones included), so valid reports = reports - malformed;
    `late` counts valid reports whose ts lies in the day before.
    """
    counts = {"reports": 0, "malformed": 0, "late": 0}
    lines = [_to_line(item) for item in
             _day_items(day, jobs, seed, late_share, malformed_share, counts)]
    return lines, counts


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

_END = object()


def write_reports(folder: str | os.PathLike, lines_or_reports, *, fmt: str = "jsonl",
                  name: str = "fwjr-00000", lines_per_file: int | None = None) -> list[str]:
    """Write reports (dicts) or ready-made lines (str, verbatim) to `folder`; return the paths.

    With `lines_per_file`, the items are split over name, name+1, ... (fwjr-00000, fwjr-00001).
    Any iterable works and is streamed. Parquet skips whatever is not a valid report.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if lines_per_file is not None and lines_per_file < 1:
        raise ValueError("lines_per_file must be at least 1")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items = iter(lines_or_reports)
    paths = []
    while True:
        head = next(items, _END)
        if head is _END and paths:
            break
        rest = items if lines_per_file is None else itertools.islice(items, lines_per_file - 1)
        chunk = [] if head is _END else itertools.chain([head], rest)
        path = folder / (_chunk_name(name, len(paths)) + FORMATS[fmt])
        _WRITERS[fmt](path, chunk)
        paths.append(str(path))
        if head is _END:
            break
    return paths


def _chunk_name(name: str, index: int) -> str:
    """fwjr-00000 -> fwjr-00001 ...: a trailing number counts up, keeping its width."""
    match = re.fullmatch(r"(.*?)(\d+)", name)
    if match:
        prefix, number = match.groups()
        return f"{prefix}{int(number) + index:0{len(number)}d}"
    return name if index == 0 else f"{name}-{index:05d}"


def _write_lines(out, items) -> None:
    batch = []
    for item in items:
        batch.append(_to_line(item))
        if len(batch) >= _WRITE_BATCH_LINES:
            out.write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        out.write("\n".join(batch) + "\n")


def _write_text(path: Path, items) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        _write_lines(out, items)


def _write_gzip(path: Path, items) -> None:
    # level 1: test data, where speed beats size; mtime=0 keeps the bytes reproducible
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out:
        _write_lines(out, items)


def _write_parquet(path: Path, items) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = parquet_schema()
    with pq.ParquetWriter(path, schema) as writer:
        rows = []
        for item in items:
            row = _parquet_row(item)
            if row is not None:
                rows.append(row)
            if len(rows) >= PARQUET_BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))


_WRITERS = {"jsonl": _write_text, "json": _write_text, "jsonl.gz": _write_gzip,
            "parquet": _write_parquet}


# ---------------------------------------------------------------------------------------------
# Parquet: a fixed schema
# ---------------------------------------------------------------------------------------------

def parquet_schema():
    """The Parquet schema of a report. exitCode is a string, a `{}` site is null, metric values
    are float64 (null when missing), steps are always a list. `multicore` is left out: it is
    always empty and Parquet cannot store a struct without fields."""
    import pyarrow as pa
    string, int64, float64 = pa.string(), pa.int64(), pa.float64()
    run = pa.struct([("runNumber", int64), ("lumis", pa.list_(int64))])
    error = pa.struct([("exitCode", string), ("type", string), ("details", string)])
    input_file = pa.struct([("lfn", int64), ("pfn", int64), ("input_type", string),
                            ("module_label", string), ("events", int64),
                            ("runs", pa.list_(run))])
    output_file = pa.struct([
        ("lfn", int64), ("pfn", int64), ("inputLFNs", pa.list_(int64)), ("module_label", string),
        ("outputDataset", string), ("acquisitionEra", string), ("processingVer", int64),
        ("processingStr", string), ("globalTag", string), ("events", int64), ("size", int64),
        ("runs", pa.list_(run)), ("merged", pa.bool_()), ("applicationVersion", string),
        ("location", string), ("checksums", pa.struct([("adler32", string), ("cksum", string)])),
    ])
    performance = pa.struct([
        ("cpu", pa.struct([(name, float64) for name in CPU_METRICS])),
        ("memory", pa.struct([(name, float64) for name in MEMORY_METRICS])),
        ("storage", pa.struct([(name, float64) for name in STORAGE_METRICS])),
    ])
    step = pa.struct([("name", string), ("site", string), ("start", int64), ("stop", int64),
                      ("status", int64), ("errors", pa.list_(error)),
                      ("input", pa.list_(input_file)), ("output", pa.list_(output_file)),
                      ("performance", performance)])
    meta = pa.struct([("agent_ver", string), ("fwjr_id", string), ("host", string),
                      ("jobstate", string), ("jobtype", string), ("ts", float64),
                      ("crab_id", string), ("crab_exit_code", int64), ("wn_name", string)])
    timing = pa.struct([("WMJobStart", int64), ("WMJobEnd", int64),
                        ("WMTotalWallClockTime", int64)])
    return pa.schema([
        ("meta_data", meta), ("task", string), ("steps", pa.list_(step)),
        ("LFNArray", pa.list_(string)), ("LFNArrayRef", pa.list_(string)),
        ("PFNArray", pa.list_(string)), ("PFNArrayRef", pa.list_(string)),
        ("WMTiming", timing), ("Campaign", string), ("PrepID", string),
        ("fallbackFiles", pa.list_(int64)), ("skippedFiles", pa.list_(int64)),
        ("wmaid", string), ("wmats", int64), ("stype", string), ("dtype", string),
    ])


def _is_report(obj) -> bool:
    """Valid enough for the fixed Parquet schema; every malformed kind fails this."""
    if not isinstance(obj, dict) or not isinstance(obj.get("meta_data"), dict):
        return False
    ts = obj["meta_data"].get("ts")
    return (isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts)
            and isinstance(obj.get("steps"), (list, dict)))


def _parquet_row(item) -> dict | None:
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except ValueError:
            return None
    if not _is_report(item):
        return None
    steps = item["steps"]
    if isinstance(steps, dict):  # old form: the key is the step's name
        steps = [{"name": name, **step} for name, step in steps.items()]
    return {**item, "steps": [_parquet_step(step) for step in steps]}


def _parquet_step(step: dict) -> dict:
    site = step.get("site")
    performance = step.get("performance") or {}
    return {
        **step,
        "site": site if isinstance(site, str) else None,
        "errors": [{**error, "exitCode": None if error.get("exitCode") is None
                    else str(error["exitCode"])} for error in step.get("errors") or []],
        "performance": {group: {name: _metric_float(value)
                                for name, value in (performance.get(group) or {}).items()}
                        for group in ("cpu", "memory", "storage")},
    }


def _metric_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Many days, in parallel
# ---------------------------------------------------------------------------------------------

def _day_folder(root, day: dt.date) -> Path:
    return Path(root) / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"


def _write_day(task: tuple) -> dict:
    """Generate and write one day (one worker task); return its counts."""
    root, day, jobs, seed, fmt, malformed_share, late_share, files_per_day = task
    counts = {"reports": 0, "malformed": 0, "late": 0}
    items = _day_items(day, jobs, seed, late_share, malformed_share, counts)
    per_file = math.ceil(jobs / files_per_day) if jobs else None
    paths = write_reports(_day_folder(root, day), items, fmt=fmt, lines_per_file=per_file)
    if fmt == "parquet":  # malformed lines are not written to Parquet
        counts["reports"] -= counts["malformed"]
        counts["malformed"] = 0
    return {**counts, "files": len(paths), "bytes": sum(os.path.getsize(p) for p in paths)}


def generate(root, start: dt.date, days: int, jobs_per_day: int, *, seed: int = 0,
             fmt: str = "jsonl", malformed_share: float = 0.01, late_share: float = 0.05,
             files_per_day: int = 1, workers: int | None = None, progress: bool = False) -> dict:
    """Write ROOT/YYYY/MM/DD/fwjr-NNNNN.<ext> for `days` days from `start`; return the totals
    {"days", "reports", "malformed", "late", "files", "bytes"}.

    `reports` counts the lines (rows) written, malformed ones included: valid = reports -
    malformed. Parquet draws the very same jobs but drops the malformed ones, so there
    reports = jobs - malformed drawn and malformed = 0; its valid rows equal the JSON lines' ones.
    """
    _check_arguments(fmt, days, jobs_per_day, malformed_share, late_share, files_per_day)
    tasks = [(str(root), start + dt.timedelta(days=offset), jobs_per_day, seed, fmt,
              malformed_share, late_share, files_per_day) for offset in range(days)]
    workers = max(1, min(workers or os.cpu_count() or 1, days))
    totals = {"days": 0, "reports": 0, "malformed": 0, "late": 0, "files": 0, "bytes": 0}
    with _progress_bar(days, progress) as bar:
        if workers == 1:
            _collect(map(_write_day, tasks), totals, bar)
        else:
            with _pool_context().Pool(workers) as pool:
                _collect(pool.imap_unordered(_write_day, tasks), totals, bar)
    return totals


def _pool_context():
    """fork when this process runs no other thread: fast, and works whatever __main__ is (stdin,
    a notebook). Forking a threaded process (a Spark driver) can deadlock: spawn then."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def update(self, count: int = 1) -> None:
        pass


def _progress_bar(days: int, enabled: bool):
    """A tqdm bar over days; without tqdm (a bare python3), no bar rather than a failure."""
    if enabled:
        try:
            from tqdm import tqdm
            return tqdm(total=days, unit="day", desc="generate")
        except ImportError:
            pass
    return _NoProgress()


def _collect(results, totals: dict, bar) -> None:
    for result in results:
        totals["days"] += 1
        for key, value in result.items():
            totals[key] += value
        bar.update()


def _check_arguments(fmt, days, jobs_per_day, malformed_share, late_share, files_per_day):
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if days < 1 or jobs_per_day < 0 or files_per_day < 1:
        raise ValueError("need days >= 1, jobs_per_day >= 0 and files_per_day >= 1")
    for name, share in (("malformed_share", malformed_share), ("late_share", late_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1]")
    if fmt == "parquet":  # fail before any worker starts, not in each of them
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError as error:
            raise RuntimeError("--format parquet needs pyarrow: run with the project's venv") \
                from error


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

EXAMPLES = """\
examples:
  bin/generate var/fwjr --start 2021-11-01 --days 4 --jobs-per-day 250000
  bin/generate var/fwjr-gz --start 2021-11-01 --days 2 --jobs-per-day 10000 --format jsonl.gz
  bin/generate var/fwjr-pq --start 2021-11-01 --days 7 --jobs-per-day 50000 \\
      --format parquet --files-per-day 4 --seed 7
  bin/generate var/fwjr-clean --start 2021-11-01 --days 1 --jobs-per-day 1000 \\
      --malformed-share 0 --late-share 0

Writes ROOT/YYYY/MM/DD/fwjr-NNNNN.<ext>. The same seed gives the same files; a day's content
depends only on (seed, day, jobs per day, shares).
"""


def _parser() -> argparse.ArgumentParser:
    parser = checks.Parser(
        prog="bin/generate", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Write deterministic synthetic CMS framework job reports (FWJR), "
                    "one folder per day.")
    parser.add_argument("root", help="output root folder (created)")
    parser.add_argument("--start", required=True, type=checks.day,
                        help="first day, YYYY-MM-DD")
    parser.add_argument("--days", required=True, type=checks.positive_count, help="number of days")
    parser.add_argument("--jobs-per-day", required=True, type=checks.count, help="reports per day")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--format", dest="fmt", choices=list(FORMATS), default="jsonl",
                        help="file format (default jsonl)")
    parser.add_argument("--malformed-share", type=checks.share, default=0.01,
                        help="share of malformed lines (default 0.01; none in parquet)")
    parser.add_argument("--late-share", type=checks.share, default=0.05,
                        help="share of reports whose job time is the day before (default 0.05)")
    parser.add_argument("--files-per-day", type=checks.positive_count, default=1, help="files per day (default 1)")
    parser.add_argument("--workers", type=checks.positive_count, default=None,
                        help="worker processes (default: number of CPUs)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    checks.writable_folder(args.root, "output folder")
    began = time.perf_counter()
    try:
        totals = generate(args.root, args.start, args.days, args.jobs_per_day, seed=args.seed,
                          fmt=args.fmt, malformed_share=args.malformed_share,
                          late_share=args.late_share, files_per_day=args.files_per_day,
                          workers=args.workers, progress=sys.stderr.isatty())
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - began
    print(f"Wrote {totals['reports']:,} reports ({totals['malformed']:,} malformed, "
          f"{totals['late']:,} late) for {totals['days']} days from {args.start} into "
          f"{args.root} as {args.fmt}: {totals['files']:,} files, {totals['bytes']:,} bytes "
          f"({totals['bytes'] / 1e6:,.1f} MB) in {seconds:.1f} s "
          f"({totals['reports'] / max(seconds, 1e-9):,.0f} reports/s).")
    return 0
