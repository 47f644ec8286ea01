"""Generate a benchmark replay set: N people.com.cn article pages (current `rm_txt` template, ~50 KB each, varied
Chinese text, a mix of GBK and UTF-8) and the list pages that link them, for the digest week ending 2025-09-05.

Used by bench/throughput.py and bench/incremental.py; written to a temporary directory, never committed.
Every article's true title, body paragraphs and publish time are returned so extraction can be scored.
Bodies are distinct stories (template sentences mixed with free-running ones), except a share of reprints
(REPRINTS) that repeat an earlier page's story, as syndication does across a week.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

WEEK = "2025-09-05"
DAYS = [date(2025, 8, 30) + timedelta(days=i) for i in range(7)]  # Sat 08-30 … Fri 09-05
PER_LIST = 40  # article links per list page
PAGES_PER_CHANNEL = 10  # list pages with fresh links per channel; one more page holds only older links
SHANGHAI = ZoneInfo("Asia/Shanghai")
REPRINTS = 0.06  # share of pages that reprint an earlier page's story (syndication: a near-duplicate cluster)

PLACES = ["北京", "上海", "天津", "重庆", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
          "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
          "青海", "宁夏", "新疆", "深圳", "厦门", "宁波", "青岛", "大连", "成都", "武汉", "杭州", "南京", "西安", "长沙"]
SUBJECTS = ["互联网医院", "电子病历", "全民健康信息平台", "医检互认", "远程会诊", "智慧医院", "医保电子凭证", "电子健康卡",
            "家庭医生签约服务", "分级诊疗", "区域影像中心", "5G急救", "人工智能辅助诊断", "健康医疗大数据", "数字疗法",
            "处方流转平台", "慢病管理", "互联网护理服务", "检验检查结果共享", "公共卫生信息系统", "智慧药房",
            "医疗数据安全", "卫生健康统计", "基层医疗信息化", "健康档案", "预约诊疗", "移动支付结算", "病案首页质控"]
ACTIONS = ["全面上线", "覆盖全域", "提速扩面", "迈出新步伐", "惠及百姓", "试点启动", "加快推进", "取得新进展", "跑出加速度",
           "再添新举措", "实现互联互通", "打通最后一公里", "让群众少跑腿", "按下快进键", "交出成绩单"]
PEOPLE = ["王喆", "李文", "张伟", "刘洋", "陈静", "杨镕", "赵敏", "黄磊", "周婷", "吴昊", "徐娜", "孙浩", "马丽", "朱峰", "胡杨"]
OPENERS = ["近日，{place}卫生健康委发布消息，{subject}建设{action}。",
           "记者从{place}市卫生健康委员会获悉，截至{month}月底，全市{subject}已接入{n}家医疗机构。",
           "{month}月{day}日，{place}召开{subject}工作推进会，部署下一阶段重点任务。",
           "今年以来，{place}持续推进{subject}建设，群众就医体验明显改善。",
           "“以前看病要跑好几趟，现在手机上就能办。”在{place}一家社区卫生服务中心，市民{person}这样告诉记者。"]
MIDDLES = ["据介绍，{subject}依托全民健康信息平台，实现了{n}余项数据的实时共享，医生调阅外院检查结果只需几秒钟。",
           "在{place}某三甲医院，患者通过手机完成预约、缴费和报告查询，平均候诊时间缩短了{pct}%。",
           "{place}卫生健康委相关负责人表示，将以数据互联互通为牵引，推动优质医疗资源扩容下沉和区域均衡布局。",
           "数据显示，今年上半年，{place}{subject}累计服务患者{n}万人次，同比增长{pct}%。",
           "记者在现场看到，医生借助{subject}调阅患者既往病历和用药记录，诊疗效率明显提高。",
           "业内专家指出，{subject}建设要守住数据安全底线，做到全程留痕、可追溯、可审计。",
           "针对老年人等群体，{place}保留了线下窗口和人工服务，并在自助设备上推出适老化界面。",
           "下一步，{place}将继续完善{subject}标准规范，推动检查检验结果在{n}家医疗机构间互认。",
           "为保障数据安全，平台采用分级授权和加密传输，患者个人信息未经授权不得调阅。",
           "不少基层医生表示，借助远程会诊，疑难病例可以第一时间得到上级医院专家的指导。",
           "{subject}的推广也带动了医疗服务流程再造，“先诊疗后付费”等便民举措在{place}全面推开。",
           "{person}介绍，过去跨院就诊需要重复检查，如今结果互认，每次可节省费用{n}元左右。",
           "据统计，{place}已有{n}家医疗机构完成信息系统改造，电子病历系统应用水平分级评价达到{lvl}级以上。",
           "专家建议，应加快制定{subject}相关的数据标准和接口规范，避免形成新的“信息孤岛”。",
           "在{place}的一家乡镇卫生院，村民通过远程心电诊断服务，在家门口就能享受到县级医院的诊疗服务。"]
CLOSERS = ["{place}卫生健康委表示，下一步将持续深化{subject}应用，让数据多跑路、群众少跑腿。",
           "业内人士认为，随着{subject}不断完善，群众看病就医将更加便捷高效。",
           "据悉，{place}计划到{year}年底实现{subject}全覆盖。"]
SOURCES = [("人民网－人民健康网", "http://health.people.com.cn/"), ("人民网－人民日报", "http://paper.people.com.cn/"),
           ("健康时报", "http://www.jksb.com.cn/"), ("新华网", "http://www.news.cn/")]

HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="content-type" content="text/html;charset={charset}"/>
<meta http-equiv="Content-Language" content="utf-8" />
<meta content="all" name="robots" />
<title>{title}--健康·生活--人民网 </title>
<meta name="renderer" content="webkit" />
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta name="viewport" content="width=device-width,initial-scale=1.0,minimum-scale=1.0,maximum-scale=1.0" />
<meta name="keywords" content="{keywords}" />
<meta name="description" content="{description}" />
<meta name="copyright" content="人民网版权所有" />
<meta name="filetype" content="0">
<meta name="publishedtype" content="1">
<meta name="pagetype" content="1">
<meta name="catalogs" content="14739">
<meta name="contentid" content="{cid}">
<meta name="publishdate" content="{day}">
<meta name="author" content="105276">
<meta name="editor" content="">
<meta name="source" content="来源：{source}">
<meta name="sourcetype" content="">
<!--enpproperty <articleid>{cid}</articleid><date>{day} {clock}:00.0</date><author></author><title>{title}</title><keyword>{keywords}</keyword><subtitle></subtitle><introtitle></introtitle><siteid>1</siteid><nodeid>14739</nodeid><nodename>健康·生活</nodename><nodesearchname></nodesearchname>/enpproperty-->
<link href="http://www.people.com.cn/img/2020fenxiang/css/share2020.css" type="text/css" rel="stylesheet" media="all" />
<link href="http://www.people.com.cn/img/2020wbc/css/page202102.css" type="text/css" rel="stylesheet" media="all" />
<link href="http://www.people.com.cn/img/2020peopleindex/css/pagetyn5.css" type="text/css" rel="stylesheet" media="all" />
<style type="text/css">
.rm_txt .col-1{{ margin:0 auto;}}
.rm_txt .col-1 h3,.rm_txt .col-1 h1,.rm_txt .col-1 h4,.author,.col-1-1{{ text-align:center;}}
{css}
</style>
</head>
<body>
<img src="http://www.people.com.cn/img/2020peopleindex/img/logo_share_ap.jpg" width="200" height="200" class="hide share-img" />
<div class="main">
	<!--头部-->
    <div class="header cf"><div class="layout"><a href="http://www.people.cn" target="_blank"><img src="/img/2020wbc/imgs/logo.png" alt="人民网" title="人民网" /></a></div></div>
    <div class="wb_line"></div>
"""

ARTICLE = """	<!--路径-->
	<div class="layout route cf" id="rwb_navpath"><a href="http://www.people.com.cn/" class="clink">人民网</a>&gt;&gt;<a href="http://health.people.com.cn/" class="clink">健康·生活</a></div>
	<!--内容-->
	<div class="layout rm_txt cf">
		<div class="col col-1">
			<h3 class="pre"></h3>
			<h1>{title}</h1>
			<h4 class="sub"></h4>
			<div class="author cf">{author}</div>
			<div class="channel cf">
				<div class="col-1-1">
					{y}年{m}月{d}日{clock} | 来源：<a href="{source_url}" target="_blank">{source}</a>
				</div>
				<div class="col-1-2 fr"><span class="rm_type"><img src="/img/2020wbc/imgs/icon_type.png" alt=""><i>小字号</i></span></div>
			</div>
			<div class="rm_txt_con cf">
				<div class="bza"><span></span><p></p></div>
				<div class="box_pic"></div>
{paragraphs}
				<div class="zdfy clearfix"></div>
				<div class="edit cf">(责编：{editors})</div>
				<p class="paper_num"><em class="section-common-share-wrap">分享让更多人看到 <i class="btn_share_common"></i></em></p>
			</div>
			<div class="rm_relevant cf"><h5><span></span>相关新闻</h5><ul>
{related}
			</ul></div>
			<div class="rm_download cf"><h5><span></span>推荐阅读</h5><ul>
{recommended}
			</ul></div>
		</div>
	</div>
"""

FOOTER = """	<div class="rm_footer cf"><div class="layout information cf">
		<p><a href="http://www.people.com.cn/GB/1018/22259/index.html" target="_blank">人民日报社概况</a>|<a href="http://www.people.com.cn/GB/50142/104580/index.html" target="_blank">关于人民网</a>|<a href="http://job.people.com.cn/" target="_blank">报社招聘</a>|<a href="http://hr.people.com.cn/" target="_blank">招聘英才</a>|<a href="http://www.people.com.cn/n/2015/1229/c403000-27997826.html" target="_blank">广告服务</a>|<a href="http://www.people.com.cn/GB/50142/353568/index.html" target="_blank">合作加盟</a>|<a href="http://kf.people.com.cn/" target="_blank">供稿服务</a>|<a href="http://www.people.com.cn/GB/1018/120224/index.html" target="_blank">网站声明</a>|<a href="http://www.people.com.cn/GB/1018/22259/index.html" target="_blank">网站律师</a>|<a href="http://www.people.com.cn/GB/50142/404779/index.html" target="_blank">信息保护</a>|<a href="http://www.people.com.cn/GB/50142/373446/index.html" target="_blank">联系我们</a></p>
		<p>人 民 网 股 份 有 限 公 司 版 权 所 有 ，未 经 书 面 授 权 禁 止 使 用</p>
		<p>Copyright &copy; 1997-2025 by www.people.com.cn. all rights reserved</p>
	</div></div>
</div>
<script src="/img/2020wbc/js/jquery.min.js" type="text/javascript"></script>
<script src="/img/2020fenxiang/js/share2020.js" type="text/javascript"></script>
<script type="text/javascript">
{script}
</script>
</body>
</html>
"""

LIST = """<!DOCTYPE html><html><head><meta http-equiv="content-type" content="text/html;charset=GB2312"/>
<title>健康·生活--人民网</title></head><body><div class="main"><div class="layout">
<div class="ej_list_box clear"><div class="p2j_list fl"><ul class="list_16 mt10">
{items}
</ul></div></div>
<div class="page_n clearfix">{next}</div>
</div></div></body></html>"""


@dataclass
class Truth:
    url: str
    title: str
    paragraphs: list[str]
    published: datetime  # aware, Asia/Shanghai
    encoding: str


def _fill(template: str, rng: random.Random, place: str, subject: str) -> str:
    return template.format(place=place, subject=subject, action=rng.choice(ACTIONS), person=rng.choice(PEOPLE),
                           n=rng.randint(12, 980), pct=rng.randint(5, 60), month=rng.randint(1, 8),
                           day=rng.randint(1, 28), year=rng.choice([2025, 2026, 2027]), lvl=rng.randint(3, 6))



# Words for the free-running sentences: with ~150 of them, two pages share a 4-character shingle (a word pair)
# now and then, as two different stories of one week do; the templates above give each paragraph its news shape.
WORDS = ("医疗 数据 平台 服务 患者 医院 基层 系统 信息 共享 互认 管理 健康 档案 远程 会诊 智慧 诊疗 医保 结算 支付 预约 检查 "
         "检验 结果 影像 病历 电子 处方 药品 流转 监测 公共卫生 应急 疾控 统计 标准 规范 接口 安全 隐私 加密 授权 审计 人工智能 "
         "辅助 诊断 模型 算法 算力 网络 物联网 可穿戴 设备 慢病 随访 家庭医生 签约 村医 乡镇 卫生院 社区 县域 医共体 医联体 专科 "
         "联盟 门诊 住院 急诊 护理 康复 养老 托育 妇幼 儿童 老年人 群众 居民 百姓 就医 体验 便捷 高效 提升 推进 建设 完善 优化 "
         "推动 加强 深化 拓展 覆盖 实现 打通 融合 协同 联动 改革 试点 示范 经验 成效 机制 政策 规划 目标 任务 措施 举措 工作 能力 "
         "水平 质量 效率 资源 下沉 均衡 布局 运维 升级 改造 迁移 上云 中台 门户 终端 窗口 自助 扫码 刷脸 身份 核验 床位 手术 麻醉 "
         "病理 心电 超声 内镜 透析 药师 医生 护士 专家 团队 学科 科研 教学 培训 考核 评价 绩效 医改 分诊 转诊 回访 满意度").split()


def _free_sentence(rng: random.Random, place: str, subject: str) -> str:
    """A sentence of the story's own: a run of words in clauses, naming its place or subject now and then."""
    clauses = []
    for _ in range(rng.randint(2, 4)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 9))]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, len(words)), rng.choice([place, subject, f"{rng.randint(2, 999)}家",
                                                                  f"{rng.randint(5, 95)}%"]))
        clauses.append("".join(words))
    return "，".join(clauses) + "。"


def story(rng: random.Random, place: str, subject: str) -> list[str]:
    """One article's paragraphs: a template opener, 8–22 body paragraphs, a closer."""
    paragraphs = [_fill(rng.choice(OPENERS), rng, place, subject)]
    for _ in range(rng.randint(8, 22)):
        sentences = [_free_sentence(rng, place, subject) for _ in range(rng.randint(1, 2))]
        sentences.insert(rng.randint(0, len(sentences)), _fill(rng.choice(MIDDLES), rng, place, subject))
        paragraphs.append("".join(sentences))
    paragraphs.append(_fill(rng.choice(CLOSERS), rng, place, subject))
    return paragraphs

def _chrome(rng: random.Random) -> tuple[str, str, str, str]:
    """Navigation, side lists, inline CSS and script: the ~35 KB around the article, varied per page."""
    channels = ["cpc", "renshi", "fanfu", "theory", "dangshi", "dangjian", "finance", "society", "ent", "health",
                "world", "military", "hm", "tw", "edu", "kpzg", "opinion", "fangtan", "env", "energy", "auto",
                "house", "travel", "game", "ip", "legal", "scitech", "sports", "culture", "it"]
    names = ["党网·时政", "人事", "反腐", "理论", "党史", "党建", "经济·科技", "社会·法治", "文旅·体育", "健康·生活", "国际",
             "军事", "港澳", "台湾", "教育", "科普", "观点", "人民访谈", "生态", "能源", "汽车", "房产", "旅游", "游戏",
             "知识产权", "法治", "科技", "体育", "文化", "IT"]
    menu = []
    for group in range(6):
        items = "".join(f'<li><a href="http://{channels[(group * 5 + k) % 30]}.people.com.cn/" target="_blank">'
                        f'{names[(group * 5 + k) % 30]}</a></li>\n' for k in range(8))
        menu.append(f'<li class="menu_item"><span>{names[group * 5]}<img src="/img/2020peopleindex/img/arrow2.png" '
                    f'class="zhuan" /></span><div><ul>\n{items}</ul></div></li>\n')
    papers = "".join(f'<a href="http://paper.people.com.cn/{c}/paperindex.htm" target="_blank">{n}</a>\n'
                     for c, n in zip(channels, names))
    locals_ = "".join(f'<a href="http://{p}.people.com.cn/" target="_blank">{PLACES[i]}</a>\n'
                      for i, p in enumerate(["bj", "sh", "tj", "cq", "he", "sx", "nm", "ln", "jl", "hlj", "js", "zj",
                                             "ah", "fj", "jx", "sd", "henan", "hb", "hn", "gd", "gx", "hi", "sc",
                                             "gz", "yn", "xz", "sn", "gs", "qh", "nx", "xj"]))
    nav = (f'    <div class="rm_nav cf" id="rm_topnav"><div class="layout rm_nav_con cf"><div class="col col-1">'
           f'<ul class="cf"><li class="shouye"><a href="http://www.people.com.cn" target="_blank">首页</a></li>\n'
           f'{"".join(menu)}</ul></div><div class="col col-2 fr"><h3 class="cf">报系一览</h3><div class="more_con cf">\n'
           f'{papers}</div><h3 class="cf">地方频道</h3><div class="more_con cf">\n{locals_}</div></div></div></div>\n')
    hot = []
    for block in ("热点推荐", "图片新闻", "健康播报"):
        links = "".join(
            f'<li><a href="http://health.people.com.cn/n1/2025/{rng.choice(["0812", "0815", "0820", "0822"])}/'
            f'c14739-40{rng.randint(500000, 549999)}.html" target="_blank">'
            f'{rng.choice(PLACES)}{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}</a></li>\n' for _ in range(14))
        hot.append(f'<div class="rm_ranking cf"><h5><span></span>{block}</h5><ul>\n{links}</ul></div>\n')
    side = f'	<div class="layout cf col-2 fr">\n{"".join(hot)}</div>\n'
    css = "\n".join(f".rm_box{i} .item{i % 7}{{margin:{rng.randint(0, 20)}px auto;padding:{rng.randint(0, 12)}px;"
                    f"color:#{rng.randint(0, 0xFFFFFF):06x};font-size:{rng.randint(12, 18)}px;}}" for i in range(110))
    script = "\n".join(
        f"var rm_cfg_{i} = {{id: {rng.randint(1, 10 ** 8)}, channel: '{rng.choice(channels)}', "
        f"show: {str(rng.random() > 0.5).lower()}, url: 'http://pgg.people.com.cn/s?z=people&c={i}&_people=health'}};"
        for i in range(170))
    return nav, side, css, script


def article_page(rng: random.Random, url: str, cid: int, published: datetime, charset: str,
                 reprint: list[str] | None = None) -> tuple[str, Truth]:
    """One page; `reprint` gives the paragraphs of an earlier story this page syndicates."""
    place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
    title = f"{place}{subject}{rng.choice(ACTIONS)}"
    if rng.random() < 0.5:
        title += f" {rng.choice(['群众就医更便捷', '数据多跑路', '看病不再来回跑', '服务覆盖' + str(rng.randint(10, 99)) + '家医院'])}"
    title += f"（{cid % 1000}）"  # unique titles
    paragraphs = list(reprint) if reprint else story(rng, place, subject)
    source, source_url = rng.choice(SOURCES)
    author = f"记者 {rng.choice(PEOPLE)}" if rng.random() < 0.6 else ""
    related = "".join(f'<li><a href="http://health.people.com.cn/n1/2025/0815/c14739-40{rng.randint(500000, 549999)}.html"'
                      f' target="_blank">{rng.choice(PLACES)}{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}</a></li>\n'
                      for _ in range(rng.randint(5, 12)))
    recommended = "".join(f'<li><a href="http://www.people.com.cn/n1/2025/0820/c32306-40{rng.randint(500000, 549999)}.html"'
                          f' target="_blank">{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}</a></li>\n' for _ in range(10))
    nav, side, css, script = _chrome(rng)
    local = published.astimezone(SHANGHAI)
    clock = f"{local:%H:%M}"
    html = (HEAD.format(charset=charset, title=title, keywords=" ".join(rng.sample(SUBJECTS, 5)),
                        description=paragraphs[0][:80], cid=cid, day=f"{local:%Y-%m-%d}", clock=clock, source=source,
                        css=css)
            + nav
            + ARTICLE.format(title=title, author=author, y=f"{local:%Y}", m=f"{local:%m}", d=f"{local:%d}", clock=clock,
                             source=source, source_url=source_url,
                             paragraphs="\n".join(f"<p>　　{p}</p>" for p in paragraphs),
                             editors=f"{rng.choice(PEOPLE)}、{rng.choice(PEOPLE)}", related=related,
                             recommended=recommended)
            + side + FOOTER.format(script=script))
    return html, Truth(url, title, paragraphs, local, "")


def article_url(day: date, cid: int) -> str:
    return f"http://health.people.com.cn/n1/{day:%Y}/{day:%m%d}/c14739-{cid}.html"


def sources_yaml(channels: int) -> str:
    urls = "\n".join(f"          - http://health.people.com.cn/GB/{408600 + c}/index.html" for c in range(channels))
    return f"""user_agent: "hiwatch-bench/0.1"
sources:
  - name: people
    label: 人民网
    hosts: [people.com.cn, people.cn]
    article_patterns:
      - '^https?://[a-z0-9.-]*people\\.com\\.cn/n[12]?/(?P<year>\\d{{4}})/(?P<month>\\d{{2}})(?P<day>\\d{{2}})/c\\d+-\\d+(?:-\\d+)?\\.html$'
    discovery:
      - type: list
        urls:
{urls}
        paginate: {{template: "index{{n}}.html", first: 2, max_pages: {PAGES_PER_CHANNEL + 3}}}
    rules:
      title: ['.rm_txt h1', '.text_c h1', '.clearfix.w1000_320.text_title h1']
      body: ['#rm_txt_zw', '.rm_txt_con', '.box_con', '#rwb_zw', '.artDet', '.show_text']
      date: ['.channel .col-1-1', '.box01 .fl', '#p_publishtime']
      author: ['.rm_txt .author', '.author']
      editor: ['.edit']
      source: ['.channel .col-1-1 a', '.box01 .fl a', '#p_origin a']
      noise: ['.edit', '.paper_num', '#rwb_tjyd', '.zdfy', '.share', '.page_n', '#rwb_zw ~ div']
      title_suffix: '(?:--|_)[^-_]{{0,20}}(?:--|_)人民网$|(?:--|_)人民网$'
"""


def generate(root: Path, pages: int, seed: int = 2025, etag: bool = False,
             reprints: float = REPRINTS) -> tuple[list[Truth], Path]:
    """Write the replay set (MANIFEST.jsonl + files) and sources.yaml under `root`; return truths and sources file.
    With `etag`, list pages carry an ETag (the replay server then answers conditional requests with 304).
    A share `reprints` of the pages carries the body of an earlier page: the near-duplicates clustering finds."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    per_channel = PER_LIST * PAGES_PER_CHANNEL
    channels = -(-pages // per_channel)
    manifest, truths = [], []
    cid = 40_600_000
    for c in range(channels):
        count = min(per_channel, pages - c * per_channel)
        base = f"http://health.people.com.cn/GB/{408600 + c}/"
        urls = []
        for _ in range(count):
            cid += rng.randint(1, 40)
            day = rng.choice(DAYS)
            published = datetime(day.year, day.month, day.day, rng.randint(6, 22), rng.randint(0, 59), tzinfo=SHANGHAI)
            url = article_url(day, cid)
            gbk = rng.random() < 0.5
            reprint = rng.choice(truths).paragraphs if truths and rng.random() < reprints else None
            html, truth = article_page(rng, url, cid, published, "GB2312" if gbk else "utf-8", reprint)
            truth.encoding = "gb18030" if gbk else "utf-8"
            rel = f"a/{cid}.html"
            (root / "a").mkdir(exist_ok=True)
            (root / rel).write_bytes(html.encode(truth.encoding))
            headers = {"Content-Type": "text/html; charset=GB2312" if gbk else "text/html"} if rng.random() < 0.7 \
                else {"Content-Type": "text/html"}
            manifest.append({"url": url, "file": rel, "headers": headers})
            truths.append(truth)
            urls.append((url, truth.title, published))
        urls.sort(key=lambda u: u[2], reverse=True)  # newest first, like the site
        lists = [urls[i:i + PER_LIST] for i in range(0, len(urls), PER_LIST)]
        old = [(article_url(date(2025, 8, 20 - k % 10), 40_500_000 + c * 100 + k), f"旧闻{k}", None) for k in range(PER_LIST)]
        lists.append(old)  # a last page of older links: paging stops there, its links are never requested
        for n, items in enumerate(lists, 1):
            name = "index.html" if n == 1 else f"index{n}.html"
            lis = "\n".join(f'<li><a href="{u}" target="_blank">{t}</a><i class="gray">'
                            f'{(p or datetime(2025, 8, 20)).strftime("%Y-%m-%d %H:%M")}</i></li>' for u, t, p in items)
            nxt = f'<a href="index{n + 1}.html">下一页</a>' if n < len(lists) else ""
            rel = f"l/{408600 + c}-{n}.html"
            (root / "l").mkdir(exist_ok=True)
            (root / rel).write_bytes(LIST.format(items=lis, next=nxt).encode("gb18030"))
            headers = {"Content-Type": "text/html; charset=GB2312"}
            if etag:
                headers["ETag"] = f'"list-{408600 + c}-{n}"'
            manifest.append({"url": base + name, "file": rel, "headers": headers})
    (root / "MANIFEST.jsonl").write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in manifest) + "\n",
                                         encoding="utf-8")
    sources = root.parent / "sources.yaml"
    sources.write_text(sources_yaml(channels), encoding="utf-8")
    return truths, sources


if __name__ == "__main__":
    import sys
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="hiwatch-replay-")) / "replay"
    truths, sources = generate(out, int(sys.argv[1]) if len(sys.argv) > 1 else 50)
    sizes = [p.stat().st_size for p in (out / "a").iterdir()]
    print(f"{len(truths)} articles in {out}; page size mean {sum(sizes) / len(sizes) / 1024:.1f} KB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}); sources {sources}")
