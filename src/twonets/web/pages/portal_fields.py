"""English words for the form fields of the written-out matters, whose JSON Schemas title them
in Chinese only: the English msgid is looked up by the Chinese title, and translated back to
that title in the Chinese catalog (a title not listed shows as it is)."""

from __future__ import annotations

from twonets.web.labels import N_

TITLES = {
    "个体工商户名称": N_("Business name"), "买受人身份证号": N_("Buyer's ID number"), "供应类别": N_("Supply category"),
    "停车街道": N_("Street to park in"), "儿童姓名": N_("Child's name"), "占道位置": N_("Place on the road"),
    "占道天数": N_("Days on the road"), "卡片类型": N_("Card type"), "原部队": N_("Former unit"), "品种": N_("Kind"),
    "场所地址": N_("Address of the premises"), "家庭人数": N_("People in the household"),
    "家庭唯一住房": N_("The family's only home"), "家庭月收入": N_("Monthly household income"),
    "容纳人数": N_("Capacity (people)"), "宽度（米）": N_("Width (m)"), "对方身份证号": N_("Partner's ID number"),
    "就医省份": N_("Province of treatment"), "居住地址": N_("Home address"), "年度": N_("Year"),
    "建筑面积": N_("Floor area"), "总投资（万元）": N_("Total investment (10,000 yuan)"), "意向学校": N_("Preferred school"),
    "成交价格": N_("Price paid"), "手机号": N_("Mobile phone"), "提取金额": N_("Amount to withdraw"), "新名称": N_("New name"),
    "新承租人身份证号": N_("New tenant's ID number"), "新生儿姓名": N_("Baby's name"), "日排水量": N_("Daily discharge"),
    "污染物种类": N_("Pollutants"), "用途": N_("Purpose"), "经营场所": N_("Business premises"),
    "经营场所面积": N_("Area of the premises"), "经营范围": N_("Business scope"), "经营项目": N_("Business line"),
    "补发原因": N_("Reason for reissue"), "设置地点": N_("Where it is put up"), "车辆数": N_("Number of vehicles"),
    "迁入户号": N_("Household to move into"), "邮寄地址": N_("Postal address"), "银行账号": N_("Bank account"),
    "项目": N_("Item"), "项目名称": N_("Project name"), "高度（米）": N_("Height (m)"),
}


def label(title: str) -> str:
    """The msgid for a field titled `title` (the title itself when none is listed)."""
    return TITLES.get(title, title)
